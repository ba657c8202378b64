#!/usr/bin/env python3
"""A TCP relay that counts what passes, for tests that must show how many bytes went through the client.

usage: counting-proxy.py TARGET_HOST TARGET_PORT STATS_FILE
Listens on 127.0.0.1 (a free port, printed as the first line of stdout) and relays every connection to the target.
STATS_FILE is rewritten (atomically) before any byte is passed on, so a client that got an answer finds it counted:
  {"up": bytes client->server, "down": bytes server->client, "connections": N,
   "busy_max": most connections at once with a request sent and no answer yet,
   "large_max": the same, counting only requests that have sent 1 MiB or more (uploads of parts, not small calls)}
A connection is busy from a client byte until the next server byte (HTTP/1.1: one request in flight per connection),
so busy_max >= 2 shows requests in flight at the same time, and large_max >= 2 large uploads in flight together. Totals only grow: a test reads them before and after.
"""
import json
import os
import socket
import sys
import threading

host, port, stats_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
LARGE = 1024 * 1024
stats = {"up": 0, "down": 0, "connections": 0, "busy": 0, "busy_max": 0, "large": 0, "large_max": 0}


def save():
    tmp = stats_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({k: stats[k] for k in ("up", "down", "connections", "busy_max", "large_max")}, f)
    os.replace(tmp, stats_path)


def end_request(state):
    state["busy"] = False
    stats["busy"] -= 1
    if state["large"]:
        state["large"] = False
        stats["large"] -= 1


def pump(src, dst, direction, state):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            with lock:
                stats[direction] += len(data)
                if direction == "up":
                    if not state["busy"]:
                        state["busy"] = True
                        state["sent"] = 0
                        stats["busy"] += 1
                        stats["busy_max"] = max(stats["busy_max"], stats["busy"])
                    state["sent"] += len(data)
                    if not state["large"] and state["sent"] >= LARGE:
                        state["large"] = True
                        stats["large"] += 1
                        stats["large_max"] = max(stats["large_max"], stats["large"])
                elif state["busy"]:
                    end_request(state)
                save()
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with lock:
            if state["busy"]:
                end_request(state)
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client):
    try:
        upstream = socket.create_connection((host, port))
    except OSError:
        client.close()
        return
    state = {"busy": False, "sent": 0, "large": False}
    with lock:
        stats["connections"] += 1
        save()
    threading.Thread(target=pump, args=(client, upstream, "up", state), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client, "down", state), daemon=True).start()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
with lock:
    save()
print(listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    serve(conn)
