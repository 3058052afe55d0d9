# A stand-in for systemd's notify socket: binds an AF_UNIX SOCK_DGRAM socket at
# the given path and prints one JSON line per datagram (receive time in ms since
# the epoch, sender PID from SCM_CREDENTIALS, the fields). File descriptors that
# come along (systemd-notify's BARRIER=1) are closed at once, which is what
# releases the waiting sender, exactly as the service manager does.
import array
import json
import os
import socket
import struct
import sys
import time

path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
print(json.dumps({"listening": path}), flush=True)
while True:
    msg, anc, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(4 * 32) + socket.CMSG_SPACE(12))
    pid = None
    fds = []
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
        elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(array.array("i", data[: len(data) - len(data) % 4]))
    for fd in fds:
        os.close(fd)
    fields = [f for f in msg.decode("utf-8", "replace").split("\n") if f]
    print(json.dumps({"t": time.time() * 1000, "pid": pid, "fields": fields, "fds": len(fds)}), flush=True)
