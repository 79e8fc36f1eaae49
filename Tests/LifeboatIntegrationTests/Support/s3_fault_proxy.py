#!/usr/bin/env python3
"""A loopback HTTP proxy between lifeboat and moto_server that injects faults and counts requests.

For a seeded fraction of requests it answers 500 InternalError, 503 SlowDown, stalls (reads the
request, then says nothing for --stall seconds and closes), or cuts the reply mid-body. Every
request is counted by method and repository file type; the counts are rewritten to --stats
after each request as JSON. Usage:

  s3_fault_proxy.py --upstream 127.0.0.1:PORT --port-file F --stats F --seed N --fraction 0.2
                    [--faults 500,503,stall,cut] [--only PUT,GET] [--stall 5]
"""
import argparse
import http.client
import json
import os
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
lock = threading.Lock()
rng = None
stats = {"requests": 0, "faults": 0, "by_method": {}, "by_kind": {}, "faults_by_kind": {}}


def kind_of(method, path):
    parts = path.split("?")[0].strip("/").split("/")
    for p in parts:
        if p in ("data", "index", "snapshots", "keys", "locks", "config"):
            return method + " " + p
    if "list-type=2" in path:
        return method + " list"
    return method + " other"


def record(method, path, fault):
    with lock:
        stats["requests"] += 1
        stats["by_method"][method] = stats["by_method"].get(method, 0) + 1
        k = kind_of(method, path)
        stats["by_kind"][k] = stats["by_kind"].get(k, 0) + 1
        if fault:
            stats["faults"] += 1
            stats["faults_by_kind"][fault] = stats["faults_by_kind"].get(fault, 0) + 1
        tmp = args.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, args.stats)


def choose_fault(method):
    if args.only and method not in args.only:
        return None
    with lock:
        if rng.random() >= args.fraction:
            return None
        return rng.choice(args.faults)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = choose_fault(self.command)
        record(self.command, self.path, fault)
        if fault in ("500", "503"):
            code, name = (500, "InternalError") if fault == "500" else (503, "SlowDown")
            xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
                   "<Message>injected fault</Message></Error>" % name).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(xml) if self.command != "HEAD" else 0))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(xml)
            return
        if fault == "cut" and self.command != "GET":
            # The request never reaches moto; the client sees the connection close.
            self.close_connection = True
            return
        if fault == "stall":
            time.sleep(args.stall)
            self.close_connection = True
            return
        conn = http.client.HTTPConnection(args.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in ("transfer-encoding", "connection", "content-length", "server", "date"):
                continue
            self.send_header(k, v)
        cut = fault == "cut" and self.command == "GET" and len(data) > 1
        self.send_header("Content-Length", str(len(data) if self.command != "HEAD" else resp.getheader("Content-Length", "0")))
        if cut:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    global args, rng
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fraction", type=float, default=0.0)
    p.add_argument("--faults", default="500,503,stall,cut")
    p.add_argument("--only", default="")
    p.add_argument("--stall", type=float, default=5.0)
    args = p.parse_args()
    args.faults = [f for f in args.faults.split(",") if f]
    args.only = set(m for m in args.only.split(",") if m)
    rng = random.Random(args.seed)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(args.stats, "w") as f:
        json.dump(stats, f)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
