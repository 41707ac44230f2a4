# appended to the reference
import subprocess
import time

MARK = "hostile-outlive-grader"


def make_loader(dataset, batch_size=64, shuffle=True, seed=0, num_workers=0):
    """A detached process that means to outlive grading, then a long sleep."""
    subprocess.Popen(["/bin/sh", "-c", f"sleep 900; : {MARK}"], start_new_session=True)
    time.sleep(900)
