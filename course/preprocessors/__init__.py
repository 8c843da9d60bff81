"""nbgrader preprocessors of the course, configured in ``nbgrader_config.py``.

They run inside nbgrader's own commands (``nbgrader autograde``,
``nbgrader generate_feedback``, the formgrader) and in ``course grade``,
which uses the same converters, so every way of grading gives one result.
"""
