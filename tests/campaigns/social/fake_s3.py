"""A local S3-compatible server for tests: path-style PutObject, GetObject and HeadObject over real HTTP.

Every request must carry an AWS Signature Version 4 `Authorization` header whose signature this
server recomputes from the canonical request (so a wrong secret fails as on S3, with
SignatureDoesNotMatch). Errors are S3's XML bodies (NoSuchKey, NoSuchBucket, AccessDenied,
InvalidAccessKeyId, SignatureDoesNotMatch, SlowDown); HEAD answers carry the status only, as on S3.
`fail_next` injects faults (a 503 SlowDown, say) for the next requests.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/s3/aws4_request, ?"
                  r"SignedHeaders=(?P<signed>[a-z0-9;-]+), ?Signature=(?P<sig>[0-9a-f]{64})$")
MESSAGES = {
    "NoSuchKey": "The specified key does not exist.", "NoSuchBucket": "The specified bucket does not exist.", "AccessDenied": "Access Denied",
    "InvalidAccessKeyId": "The AWS Access Key Id you provided does not exist in our records.",
    "SignatureDoesNotMatch": "The request signature we calculated does not match the signature you provided.",
    "SlowDown": "Please reduce your request rate.", "InternalError": "We encountered an internal error. Please try again.",
}


@dataclass
class FakeS3:
    credentials: dict[str, str] = field(default_factory=lambda: {"AKIDFAKE": "fake-secret-key"})
    buckets: dict[str, dict[str, tuple[bytes, str]]] = field(default_factory=lambda: {"media": {}})
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of every request, faults included
    faults: list[tuple[int, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> FakeS3:
        fake = self

        class Handler(_Handler):
            s3 = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail_next(self, status: int, code: str, times: int = 1) -> None:
        self.faults.extend([(status, code)] * times)

    def puts(self) -> int:
        return sum(1 for method, _ in self.requests if method == "PUT")


class _Handler(BaseHTTPRequestHandler):
    s3: FakeS3
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def _handle(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.s3.requests.append((method, self.path))
        if self.s3.faults:
            status, code = self.s3.faults.pop(0)
            return self._error(method, status, code)
        problem = self._check_signature(method, body)
        if problem:
            return self._error(method, 403, problem)
        parts = urlsplit(self.path)
        bucket_name, _, key = parts.path.lstrip("/").partition("/")
        bucket = self.s3.buckets.get(bucket_name)
        if bucket is None:
            return self._error(method, 404, "NoSuchBucket")
        if method == "PUT":
            bucket[key] = (body, self.headers.get("Content-Type") or "binary/octet-stream")
            return self._reply(200, b"", {"ETag": f'"{hashlib.md5(body).hexdigest()}"'})
        if key not in bucket:
            return self._error(method, 404, "NoSuchKey")
        data, mime = bucket[key]
        headers = {"ETag": f'"{hashlib.md5(data).hexdigest()}"', "Content-Type": mime, "Last-Modified": "Sun, 06 Dec 2026 00:00:00 GMT"}
        self._reply(200, b"" if method == "HEAD" else data, headers, length=len(data))

    def _check_signature(self, method: str, body: bytes) -> str | None:
        match = AUTH.match(self.headers.get("Authorization") or "")
        amz_date = self.headers.get("x-amz-date") or ""
        payload = self.headers.get("x-amz-content-sha256") or ""
        if not match or not re.fullmatch(r"\d{8}T\d{6}Z", amz_date) or not payload:
            return "AccessDenied"  # unsigned or not SigV4
        secret = self.s3.credentials.get(match["key"])
        if secret is None:
            return "InvalidAccessKeyId"
        if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
            return "SignatureDoesNotMatch"
        signed = match["signed"].split(";")
        if "host" not in signed:
            return "AccessDenied"
        parts = urlsplit(self.path)
        query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(parse_qsl(parts.query, keep_blank_values=True)))
        headers = "".join(f"{h}:{' '.join((self.headers.get(h) or '').split())}\n" for h in signed)
        canonical = "\n".join([method, parts.path or "/", query, headers, match["signed"], payload])
        scope = f"{match['date']}/{match['region']}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = f"AWS4{secret}".encode()
        for part in (match["date"], match["region"], "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return None if hmac.compare_digest(expected, match["sig"]) else "SignatureDoesNotMatch"

    def _error(self, method: str, status: int, code: str) -> None:
        request_id = uuid.uuid4().hex[:16].upper()
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{MESSAGES.get(code, code)}</Message>'
               f"<Resource>{urlsplit(self.path).path}</Resource><RequestId>{request_id}</RequestId></Error>").encode()
        self._reply(status, b"" if method == "HEAD" else xml, {"Content-Type": "application/xml", "x-amz-request-id": request_id},
                    length=len(xml) if method != "HEAD" else 0)

    def _reply(self, status: int, data: bytes, headers: dict[str, str], length: int | None = None) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data) if length is None else length))
        self.end_headers()
        if data:
            self.wfile.write(data)
