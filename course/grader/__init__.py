"""The grader: code that runs in the instructor's process, never in a student's kernel.

- :mod:`course.grader.sites`: test cells rewritten for the student's kernel
  (only the student's values are computed there) and for the reference run;
- :mod:`course.grader.references`: the solution run in a clean kernel, once per
  assignment, recording every check's expected value (cached);
- :mod:`course.grader.verdicts`: the student's recorded values against the
  references: pass or fail, messages and the outputs nbgrader scores;
- :mod:`course.grader.scan`: a static scan of submissions for what deserves
  an instructor's look (flagged for review).

``course.autograde`` (the class grader behind ``course grade``) and
``course.isolation`` (its bubblewrap sandbox) run here too; the nbgrader
preprocessors that call these are in :mod:`course.preprocessors`.
"""
