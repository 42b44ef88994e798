"""Run a command on a pseudo-terminal, press Ctrl-C once it printed the
expected prompt, and print as JSON how it ended and whether the
terminal's echo was on afterwards.

usage: pty_interrupt.py PROMPT COMMAND [ARG...]
"""
import json
import os
import pty
import select
import sys
import termios
import time

prompt = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])

out = b""
deadline = time.time() + 10
while prompt not in out and time.time() < deadline:
    if select.select([fd], [], [], 0.1)[0]:
        try:
            out += os.read(fd, 1024)
        except OSError:
            break
prompted = prompt in out
if prompted:
    time.sleep(0.2)  # the prompt is printed before echo goes off
    os.write(fd, b"\x03")

ended = None
deadline = time.time() + 5
while time.time() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        ended = status
        break
    if select.select([fd], [], [], 0.1)[0]:
        try:
            out += os.read(fd, 1024)
        except OSError:
            pass
if ended is None:
    os.kill(pid, 9)
    os.waitpid(pid, 0)

echo = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
print(json.dumps({
    "prompted": prompted,
    "exited": ended is not None,
    "code": os.WEXITSTATUS(ended) if ended is not None and os.WIFEXITED(ended) else None,
    "signal": os.WTERMSIG(ended) if ended is not None and os.WIFSIGNALED(ended) else None,
    "echo": echo,
    "output": out.decode(errors="replace"),
}))
