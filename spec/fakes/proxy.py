#!/usr/bin/env python3
"""A forwarding HTTP proxy on 127.0.0.1 for the proxy spec: it accepts
absolute-form requests (POST http://host:port/path HTTP/1.1), forwards them
unchanged to loopback targets only, and counts them in --count-file."""
import argparse
import http.client
import http.server
import os
import threading
import urllib.parse

lock = threading.Lock()
count = 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--count-file", required=True)
    args = parser.parse_args()

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            global count
            target = urllib.parse.urlsplit(self.path)
            if target.hostname != "127.0.0.1":
                self.send_error(403, "loopback targets only")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                count += 1
                with open(args.count_file, "w") as f:
                    f.write(str(count))
            upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
            upstream.request("POST", target.path or "/", body=body, headers=headers)
            reply = upstream.getresponse()
            data = reply.read()
            self.send_response(reply.status, reply.reason)
            for k, v in reply.getheaders():
                if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            upstream.close()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
