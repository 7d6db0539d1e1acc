# gunicorn settings for `serve`: one process with threads (a slow request must not hold up
# the next, and one process starts fastest), no access log, no control socket (its default
# path is shared by every gunicorn of the user, so a second one would clash).
import os
import signal
import threading

workers = 1
worker_class = "gthread"
threads = 4
accesslog = None
control_socket_disable = True
graceful_timeout = 5
timeout = 120


def when_ready(server):
    # With --until-stdin-closes the server ends when its stdin closes, so a test process that
    # dies without cleaning up does not leave it running.
    if os.environ.get("HERALD_ARCHIVE_LIFELINE") != "1":
        return

    def watch():
        # os.read, not sys.stdin: workers are forked while this thread blocks, and a copied
        # lock of sys.stdin's buffer would abort them at exit.
        while os.read(0, 4096):
            pass
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, name="stdin-lifeline", daemon=True).start()
