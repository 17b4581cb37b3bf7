"""samlocal's pytest fixtures, as a team with its own SAM application gets them by installing
samlocal: a template of the team's, none of the order service."""

import pytest

from tests.samlocal.apps import SCHEDULED_QUEUE_CONSUMER, WORKER

pytest_plugins = ["pytester"]

TEAM_TEST = """
def test_a_job_sent_to_the_queue_is_done(samlocal_stack, samlocal_queues, samlocal_wait):
    samlocal_queues.send("Jobs", "job-7")

    samlocal_wait.until(
        lambda: any('"handled": "job-7"' in line.text for line in samlocal_stack.logs.lines),
        what="job 7 done"
    )
    samlocal_wait.idle()
    assert samlocal_queues.depth("Jobs") == 0


def test_a_wait_in_vain_shows_what_the_functions_logged(samlocal_queues, samlocal_wait):
    samlocal_queues.send("Jobs", "job-8")

    samlocal_wait.until(lambda: False, what="the impossible", timeout=3)
"""


def test_a_teams_queue_consumer_runs_on_samlocals_fixtures_alone(pytester: pytest.Pytester) -> None:
    # Given a team's template with no API (a queue and its consumer) and a test using samlocal's fixtures
    pytester.makefile(".yaml", template=SCHEDULED_QUEUE_CONSUMER)
    (pytester.path / "functions").mkdir()
    (pytester.path / "functions" / "worker.py").write_text(WORKER)
    pytester.makepyfile(test_jobs=TEAM_TEST)
    pytester.makeini("[pytest]\nsamlocal_time_scale = 0.02\n")

    # When pytest runs it
    result = pytester.runpytest_subprocess("-v", timeout=180)

    # Then the stack from the team's template.yaml does the job, and a failed wait shows the functions' log
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["samlocal: *template.yaml, runner workers, time scale 0.02"])
    result.stdout.fnmatch_lines(["*- Captured samlocal log call -*", "Worker | *handled*job-8*"])
