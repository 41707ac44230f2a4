# appended to the reference
import subprocess
import sys


def make_transform(augment=False):
    """Leaves a process behind and tries the network from it."""
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)  # hostile-leftover"], start_new_session=True)
    subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(('1.1.1.1', 80), timeout=3)"])
    return None
