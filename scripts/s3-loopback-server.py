#!/usr/bin/env python3
"""A minimal S3-compatible server on loopback, FOR BENCHMARKS ONLY (scripts/bench-s3.sh).

moto_server does per-request Python work (XML models, whole bodies in memory, md5/etag); this
server stores each object as a file under --root and moves bodies in the kernel (socket -> file
with splice(2), file -> socket with sendfile(2)), so it costs little CPU next to the client it
measures.
It speaks what lifeboat uses: create/HEAD bucket, PUT/GET (Range)/HEAD/DELETE object,
ListObjectsV2 (prefix, continuation-token, max-keys) and multi-object delete (POST ?delete).
Like moto it accepts any signature and keeps no metadata beyond the bytes. Not for real data:
no auth, no durability (no fsync), no multipart, no versioning.

Usage: s3-loopback-server.py --root DIR [--port N] [--port-file F] [--log F]
  --log appends one line per request ("METHOD PATH STATUS") for request counting.
"""
import argparse
import email.utils
import fcntl
import os
import re
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

BLOCK = 1 << 20
args = None
log_lock = threading.Lock()
log_file = None


def xml(body):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()


def receive(rfile, sock, fd, length):
    """Copies `length` body bytes to `fd`: what the header parser already buffered, then the
    rest socket -> pipe -> file with splice(2), so no body byte passes through Python.
    Returns how many bytes were missing (0 unless the client hung up)."""
    remaining = length
    if remaining and rfile.peek(1):
        # peek returns the buffered bytes without a read when there are some.
        head = rfile.read(min(remaining, len(rfile.peek(1))))
        os.write(fd, head)
        remaining -= len(head)
    if remaining and hasattr(os, "splice"):
        r, w = os.pipe()
        try:
            try:
                fcntl.fcntl(w, 1031, BLOCK)  # F_SETPIPE_SZ: fewer, larger splices
            except OSError:
                pass
            while remaining > 0:
                n = os.splice(sock.fileno(), w, min(BLOCK, remaining))
                if n == 0:
                    return remaining
                remaining -= n
                while n > 0:
                    n -= os.splice(r, fd, n)
        finally:
            os.close(r)
            os.close(w)
    while remaining > 0:
        chunk = rfile.read(min(BLOCK, remaining))
        if not chunk:
            break
        os.write(fd, chunk)
        remaining -= len(chunk)
    return remaining


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lifeboat-bench-s3"

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle holds the body of
        # a small reply until the client's delayed ACK (40 ms per request).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *a):
        pass

    def log_request(self, code="-", size="-"):
        if log_file is not None:
            with log_lock:
                log_file.write("%s %s %s\n" % (self.command, self.path, code))
                log_file.flush()

    # -- helpers ---------------------------------------------------------------------------

    def target(self):
        path, _, query = self.path.partition("?")
        parts = urllib.parse.unquote(path).lstrip("/").split("/", 1)
        bucket = parts[0]
        key = parts[1] if len(parts) > 1 else ""
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        return bucket, key, q

    def object_path(self, bucket, key):
        # Keys are stored under a mangled name so "a/b" and "a" can both exist as objects.
        if not key or "\0" in key or any(p in ("", ".", "..") for p in key.split("/")):
            return None
        return os.path.join(args.root, bucket, "objects", *[p + ".o" for p in key.split("/")])

    def reply(self, code, body=b"", content_type="application/xml", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def error(self, code, name, message=""):
        self.reply(code, xml("<Error><Code>%s</Code><Message>%s</Message></Error>" % (name, escape(message))))

    def object_headers(self, st):
        # restic (minio-go) requires Last-Modified on HEAD and GET.
        self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
        self.send_header("ETag", '"%d-%x"' % (st.st_size, st.st_mtime_ns))

    def drain(self):
        length = int(self.headers.get("Content-Length") or 0)
        while length > 0:
            chunk = self.rfile.read(min(BLOCK, length))
            if not chunk:
                break
            length -= len(chunk)

    def bucket_dir(self, bucket):
        return os.path.join(args.root, bucket)

    # -- methods ---------------------------------------------------------------------------

    def do_PUT(self):
        bucket, key, _ = self.target()
        if not key:
            self.drain()
            os.makedirs(os.path.join(self.bucket_dir(bucket), "objects"), exist_ok=True)
            return self.reply(200, headers=[("Location", "/" + bucket)])
        if not os.path.isdir(self.bucket_dir(bucket)):
            self.drain()
            return self.error(404, "NoSuchBucket", bucket)
        path = self.object_path(bucket, key)
        if path is None:
            self.drain()
            return self.error(400, "InvalidArgument", "bad key")
        length = int(self.headers.get("Content-Length") or 0)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp = "%s.tmp-%d-%d" % (path, os.getpid(), threading.get_ident())
        with open(temp, "wb", buffering=0) as f:
            remaining = receive(self.rfile, self.connection, f.fileno(), length)
        if remaining:
            os.unlink(temp)
            self.close_connection = True
            return
        os.replace(temp, path)
        # The ETag is not an MD5 here (that would be per-byte Python work); lifeboat ignores it.
        self.reply(200, headers=[("ETag", '"%d-%x"' % (length, os.stat(path).st_mtime_ns))])

    def do_HEAD(self):
        bucket, key, _ = self.target()
        if not key:
            return self.reply(200 if os.path.isdir(self.bucket_dir(bucket)) else 404)
        path = self.object_path(bucket, key)
        try:
            st = os.stat(path) if path else None
        except FileNotFoundError:
            st = None
        if st is None:
            return self.reply(404)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(st.st_size))
        self.object_headers(st)
        self.end_headers()

    def do_GET(self):
        bucket, key, q = self.target()
        if not os.path.isdir(self.bucket_dir(bucket)):
            return self.error(404, "NoSuchBucket", bucket)
        if not key:
            if "location" in q:
                return self.reply(200, xml("<LocationConstraint/>"))
            return self.list_objects(bucket, q)
        path = self.object_path(bucket, key)
        try:
            f = open(path, "rb") if path else None
        except FileNotFoundError:
            f = None
        if f is None:
            return self.error(404, "NoSuchKey", key)
        with f:
            st = os.fstat(f.fileno())
            size = st.st_size
            start, end, code = 0, size, 200
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
            if m:
                start = int(m.group(1))
                end = min(size, int(m.group(2)) + 1) if m.group(2) else size
                if start >= size:
                    return self.error(416, "InvalidRange", key)
                code = 206
            self.send_response(code)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(end - start))
            if code == 206:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end - 1, size))
            self.object_headers(st)
            self.end_headers()
            self.wfile.flush()
            offset = start
            while offset < end:
                sent = os.sendfile(self.connection.fileno(), f.fileno(), offset, min(BLOCK * 8, end - offset))
                if sent == 0:
                    break
                offset += sent

    def list_objects(self, bucket, q):
        prefix = q.get("prefix", "")
        max_keys = int(q.get("max-keys", "1000") or 1000)
        after = q.get("continuation-token") or q.get("start-after") or ""
        root = os.path.join(self.bucket_dir(bucket), "objects")
        keys = []
        for dirpath, _, files in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            parts = [] if rel == "." else [p[:-2] for p in rel.split(os.sep)]
            for name in files:
                if not name.endswith(".o"):
                    continue
                key = "/".join(parts + [name[:-2]])
                if key.startswith(prefix) and key > after:
                    keys.append((key, os.path.join(dirpath, name)))
        keys.sort()
        # With a delimiter, keys below the next "/" fold into one CommonPrefixes entry.
        delimiter = q.get("delimiter", "")
        entries = []
        for key, path in keys:
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            common = key[:cut + len(delimiter)] if cut >= 0 else None
            if common is not None and entries and entries[-1][0] == common:
                continue
            entries.append((common, None) if common is not None else (key, path))
        truncated = len(entries) > max_keys
        keys = entries[:max_keys]
        out = ["<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
               "<Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><MaxKeys>%d</MaxKeys>"
               % (escape(bucket), escape(prefix), len(keys), max_keys),
               "<IsTruncated>%s</IsTruncated>" % ("true" if truncated else "false")]
        if truncated:
            out.append("<NextContinuationToken>%s</NextContinuationToken>" % escape(keys[-1][0]))
        for key, path in keys:
            if path is None:
                out.append("<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>" % escape(key))
                continue
            try:
                size = os.stat(path).st_size
            except FileNotFoundError:
                continue
            out.append("<Contents><Key>%s</Key><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>"
                       % (escape(key), size))
        out.append("</ListBucketResult>")
        self.reply(200, xml("".join(out)))

    def remove_object(self, bucket, key):
        path = self.object_path(bucket, key)
        if path:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def do_DELETE(self):
        bucket, key, _ = self.target()
        self.remove_object(bucket, key)
        self.reply(204)

    def do_POST(self):
        bucket, _, q = self.target()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        if "delete" not in q:
            return self.error(501, "NotImplemented", "only POST ?delete")
        for key in re.findall(r"<Key>(.*?)</Key>", body, re.S):
            key = key.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")
            self.remove_object(bucket, key)
        self.reply(200, xml("<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></DeleteResult>"))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self):
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        super().server_bind()


def main():
    global args, log_file
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--log")
    args = p.parse_args()
    os.makedirs(args.root, exist_ok=True)
    if args.log:
        log_file = open(args.log, "a")
    server = Server(("127.0.0.1", args.port), Handler)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(args.port_file + ".tmp", args.port_file)
    else:
        print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
