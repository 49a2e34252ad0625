#!/usr/bin/env python3
"""Offline FIT-Connect Zustelldienst (Submission API v1, 1.1.3) for tests and demos.

A test double, not FITKO's service: an in-memory store on 127.0.0.1 with the status rules and
error codes of the published API document (../shared/data/fim/fit-connect/submission-api-1.1.3.yaml),
an OAuth2 token endpoint (client credentials), Security Event Tokens signed with PS512 and the
signing key published as JWKS. What the double cannot know (how long an incomplete submission
lives, which client may send where) is set by the configuration and written down below.

Start:  python3 .ci/zustelldienst.py --port 8099 --config zustelldienst.json
Config: {"clients": [{"id": "...", "secret": "...", "role": "sender"},
                     {"id": "...", "secret": "...", "role": "subscriber", "destinations": ["<uuid>"]}],
         "destinations": [{"id": "<uuid>", "status": "active", "encryptionKey": {JWK},
                           "signingKey": {JWK}, "services": [{"identifier": "urn:de:fim:leika:leistung:…",
                           "regions": ["urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:ags:16051000"]}]}],
         "incompleteLifetimeSeconds": 7200}
Test controls (not part of FIT-Connect, under /_test):
  POST /_test/clock   {"advanceSeconds": n}  moves the double's clock (expiry of incomplete submissions)
  POST /_test/outage  {"seconds": n}         answers 503 to every API call for n seconds of real time
                      {"seconds": n, "only": "POST /v1/cases/"}  … only to calls starting like that
  GET  /_test/stats                           counts of submissions per status
  POST /_test/tamper  {"submissionId": id}    replaces the first attachment by a valid JWE of other
                                              content for the destination's key (what an attacker
                                              holding the public key could do): the hash check must catch it

Needs PyPI jwcrypto (installed by .ci/run).
"""
import argparse
import json
import re
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from jwcrypto import jwk, jws
from jwcrypto.common import json_encode

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
JWE_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
EVENT_BASE = "https://schema.fitko.de/fit-connect/events/"
MAX_ATTACHMENT = 512 * 1024 * 1024  # the API document's limit for one attachment (as JWE)
MAX_JSON = 2 * 1024 * 1024


class Problem(Exception):
    def __init__(self, status, title, detail=""):
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail


class Store:
    def __init__(self, config, issuer, key_pem=None):
        self.lock = threading.Lock()
        self.issuer = issuer
        self.offset = 0.0
        self.outage_until = 0.0
        self.outage_only = ""
        self.lifetime = float(config.get("incompleteLifetimeSeconds", 7200))
        self.clients = {c["id"]: c for c in config.get("clients", [])}
        self.destinations = {d["id"].lower(): d for d in config.get("destinations", [])}
        self.tokens = {}
        self.submissions = {}
        self.cases = {}  # caseId -> list of SET strings
        if key_pem:
            self.key = jwk.JWK.from_pem(open(key_pem, "rb").read())
            self.key.update(kid="zustelldienst-" + self.key.thumbprint()[:8], alg="PS512", use="sig")
        else:
            self.key = jwk.JWK.generate(kty="RSA", size=4096, kid="zustelldienst-" + secrets.token_hex(4), alg="PS512", use="sig")

    def now(self):
        return time.time() + self.offset

    def expire(self):
        limit = self.now() - self.lifetime
        for sid in [s for s, v in self.submissions.items() if v["status"] == "incomplete" and v["created"] < limit]:
            del self.submissions[sid]

    def set_token(self, event, subject, case_id, txn, payload=None):
        """A Security Event Token of the Zustelldienst, signed PS512 with its published key."""
        claims = {"iss": self.issuer, "iat": int(self.now()), "jti": str(uuid.uuid4()),
                  "sub": subject, "txn": "case:" + case_id,
                  "events": {EVENT_BASE + event: payload or {}}}
        token = jws.JWS(json.dumps(claims).encode())
        token.add_signature(self.key, alg="PS512", protected=json_encode({"alg": "PS512", "kid": self.key.key_id, "typ": "secevent+jwt"}))
        return token.serialize(compact=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store: Store = None

    def log_message(self, fmt, *args):  # quiet; the tests print what matters
        pass

    # --- plumbing -------------------------------------------------------------------------
    def reply(self, status, body=None, ctype="application/json"):
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        if data:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        # a refusal before the request body was read (outage, authentication) leaves that body in
        # the connection, where it would be read as the next request: close it instead
        unread = not getattr(self, "body_read", False) and int(self.headers.get("Content-Length") or 0) > 0
        if unread:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def problem(self, p):
        self.reply(p.status, {"type": "about:blank", "title": p.title, "status": p.status, "detail": p.detail},
                   "application/problem+json")

    def body(self, limit):
        self.body_read = True
        n = int(self.headers.get("Content-Length") or 0)
        if n > limit:
            # read and drop, so the connection stays usable, then refuse
            remaining = n
            while remaining > 0:
                remaining -= len(self.rfile.read(min(remaining, 1 << 20)))
            raise Problem(413, "Payload Too Large", "Der Inhalt ist größer als erlaubt.")
        return self.rfile.read(n) if n else b""

    def media_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json_body(self):
        if self.media_type() != "application/json":
            raise Problem(415, "Unsupported Media Type", "Erwartet wird application/json.")
        try:
            value = json.loads(self.body(MAX_JSON) or b"null")
        except ValueError:
            raise Problem(400, "Bad Request", "Kein gültiges JSON.")
        if not isinstance(value, dict):
            raise Problem(400, "Bad Request", "Erwartet wird ein JSON-Objekt.")
        return value

    def client(self):
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            raise Problem(401, "Unauthorized", "Zugangstoken fehlt.")
        tok = self.store.tokens.get(auth[7:].strip())
        if not tok or tok["expires"] < time.time():
            raise Problem(401, "Unauthorized", "Zugangstoken ungültig oder abgelaufen.")
        return self.store.clients[tok["client"]]

    @staticmethod
    def uuid_arg(value, what):
        if not UUID_RE.match(value or ""):
            raise Problem(400, "Bad Request", f"{what} ist keine UUID.")
        return value.lower()

    def may_subscribe(self, client, destination_id):
        return client["role"] == "subscriber" and destination_id in [d.lower() for d in client.get("destinations", [])]

    # --- dispatch -------------------------------------------------------------------------
    def handle_any(self, method):
        self.body_read = False  # one handler object serves every request of a kept-alive connection
        path = urlparse(self.path).path
        try:
            if path.startswith("/_test/"):
                return self.test_control(method, path)
            if time.time() < self.store.outage_until and (not self.store.outage_only or
                                                           f"{method} {path}".startswith(self.store.outage_only)):
                raise Problem(503, "Service Unavailable", "Der Zustelldienst ist vorübergehend nicht erreichbar.")
            with self.store.lock:
                self.store.expire()
                return self.route(method, path)
        except Problem as p:
            self.problem(p)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def route(self, method, path):
        st = self.store
        parts = [p for p in path.split("/") if p]
        if method == "POST" and path == "/token":
            return self.token()
        if method == "GET" and path == "/.well-known/jwks.json":
            # published as FIT-Connect publishes its keys: alg and key_ops present (RSA-4096, PS512)
            pub = json.loads(st.key.export_public())
            pub.update(alg="PS512", key_ops=["verify"])
            pub.pop("use", None)
            return self.reply(200, {"keys": [pub]})
        if method == "GET" and path == "/v1/info":
            return self.reply(200, {"version": "1.1.3", "double": True})
        if method == "GET" and path == "/v1/routes":
            return self.routes()
        if parts[:2] == ["v1", "destinations"] and len(parts) >= 3:
            return self.destination(method, parts)
        if parts[:2] == ["v1", "submissions"]:
            return self.submissions(method, parts)
        if parts[:2] == ["v1", "cases"] and len(parts) == 4 and parts[3] == "events":
            return self.events(method, self.uuid_arg(parts[2], "caseId"))
        raise Problem(404, "Not Found", "Unbekannter Pfad.")

    # --- endpoints ------------------------------------------------------------------------
    def token(self):
        if self.media_type() != "application/x-www-form-urlencoded":
            raise Problem(415, "Unsupported Media Type", "Erwartet wird application/x-www-form-urlencoded.")
        form = {k: v[0] for k, v in parse_qs(self.body(8192).decode(errors="replace")).items()}
        cid, secret = form.get("client_id"), form.get("client_secret")
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            import base64
            try:
                cid, secret = base64.b64decode(auth[6:]).decode().split(":", 1)
            except Exception:
                raise Problem(401, "Unauthorized", "Client-Authentifizierung ungültig.")
        if form.get("grant_type") != "client_credentials":
            return self.reply(400, {"error": "unsupported_grant_type"})
        c = self.store.clients.get(cid or "")
        if not c or not secrets.compare_digest(c["secret"], secret or ""):
            return self.reply(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(32)
        self.store.tokens[token] = {"client": c["id"], "expires": time.time() + 1800}
        scope = "send:region:DE" if c["role"] == "sender" else " ".join("subscribe:destination:" + d for d in c.get("destinations", []))
        self.reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 1800, "scope": scope})

    def public_destination(self, d):
        return {"destinationId": d["id"], "status": d.get("status", "active"),
                "encryptionKid": d["encryptionKey"].get("kid"),
                "services": [{"identifier": s["identifier"], "regions": s.get("regions", [])} for s in d.get("services", [])],
                "metadataVersions": ["1.0.0"], "replyChannels": {"eMail": {"usePgp": False}}}

    def destination(self, method, parts):
        did = self.uuid_arg(parts[2], "destinationId")
        d = self.store.destinations.get(did)
        if not d:
            raise Problem(404, "Not Found", "Zustellpunkt unbekannt.")
        if method == "GET" and len(parts) == 3:
            return self.reply(200, self.public_destination(d))
        if method == "GET" and len(parts) == 5 and parts[3] == "keys":
            for key in (d["encryptionKey"], d.get("signingKey")):
                if key and key.get("kid") == parts[4]:
                    return self.reply(200, key)
            raise Problem(404, "Not Found", "Schlüssel unbekannt.")
        raise Problem(405, "Method Not Allowed", "Nicht unterstützt.") if len(parts) == 3 else Problem(404, "Not Found", "Unbekannter Pfad.")

    def routes(self):
        """Routing API (simplified): destinations offering the LeiKa key in the region (ARS),
        each with a PS512 signature of the Zustelldienst over the destination's parameters."""
        q = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        leika, ars = q.get("leikaKey", ""), q.get("ars", "")
        if not re.fullmatch(r"\d{14}", leika) or not re.fullmatch(r"\d{12}", ars):
            raise Problem(400, "Bad Request", "leikaKey (14 Ziffern) und ars (12 Ziffern) sind nötig.")
        routes = []
        for d in self.store.destinations.values():
            for s in d.get("services", []):
                if s["identifier"].endswith(":" + leika) and any(r.endswith(":" + ars) or r.endswith(ars) for r in s.get("regions", [])):
                    params = {"destinationId": d["id"], "encryptionKid": d["encryptionKey"].get("kid"),
                              "submissionUrl": f"http://{self.headers.get('Host')}", "metadataVersions": ["1.0.0"]}
                    token = jws.JWS(json.dumps(params, sort_keys=True).encode())
                    token.add_signature(self.store.key, alg="PS512", protected=json_encode({"alg": "PS512", "kid": self.store.key.key_id}))
                    routes.append({"destinationId": d["id"], "destinationParameters": params,
                                   "destinationSignature": token.serialize(compact=True)})
        self.reply(200, {"count": len(routes), "offset": 0, "totalCount": len(routes), "routes": routes})

    def submissions(self, method, parts):
        st = self.store
        client = self.client()
        if len(parts) == 2 and method == "POST":
            if client["role"] != "sender":
                raise Problem(403, "Forbidden", "Nur sendende Systeme dürfen Einreichungen anlegen.")
            body = self.json_body()
            did = self.uuid_arg(body.get("destinationId"), "destinationId")
            announced = body.get("announcedAttachments")
            service = body.get("serviceType")
            if not isinstance(announced, list) or not isinstance(service, dict) or not service.get("identifier") or not service.get("name"):
                raise Problem(400, "Bad Request", "announcedAttachments und serviceType (name, identifier) sind nötig.")
            announced = [self.uuid_arg(a, "attachmentId") for a in announced]
            if len(set(announced)) != len(announced):
                raise Problem(400, "Bad Request", "Eine attachmentId ist doppelt angekündigt.")
            d = st.destinations.get(did)
            if not d:
                raise Problem(404, "Not Found", "Zustellpunkt unbekannt.")
            if d.get("status", "active") != "active":
                raise Problem(422, "Unprocessable Entity", "Der Zustellpunkt ist nicht aktiv.")
            case_id = self.uuid_arg(body["caseId"], "caseId") if body.get("caseId") else str(uuid.uuid4())
            sid = str(uuid.uuid4())
            st.submissions[sid] = {"id": sid, "destinationId": did, "caseId": case_id, "sender": client["id"],
                                   "serviceType": service, "announced": announced, "attachments": {},
                                   "status": "incomplete", "created": st.now(), "metadata": None, "data": None}
            st.cases.setdefault(case_id, [])
            return self.reply(201, {"destinationId": did, "submissionId": sid, "caseId": case_id})
        if len(parts) == 2 and method == "GET":
            q = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            did = self.uuid_arg(q.get("destinationId"), "destinationId")
            if not self.may_subscribe(client, did):
                raise Problem(403, "Forbidden", "Kein Zugriff auf diesen Zustellpunkt.")
            limit = min(max(int(q.get("limit", "100") or 100), 1), 500)
            offset = max(int(q.get("offset", "0") or 0), 0)
            ready = [s for s in st.submissions.values() if s["destinationId"] == did and s["status"] in ("submitted", "forwarded")]
            ready.sort(key=lambda s: s["submitted"])
            page = ready[offset:offset + limit]
            return self.reply(200, {"count": len(page), "offset": offset, "totalCount": len(ready),
                                    "submissions": [{"destinationId": did, "submissionId": s["id"], "caseId": s["caseId"]} for s in page]})
        sid = self.uuid_arg(parts[2], "submissionId")
        sub = st.submissions.get(sid)
        if not sub:
            raise Problem(404, "Not Found", "Einreichung unbekannt.")
        is_sender = client["id"] == sub["sender"]
        is_subscriber = self.may_subscribe(client, sub["destinationId"])
        if len(parts) == 3 and method == "PUT":
            if not is_sender:
                raise Problem(403, "Forbidden", "Nur das anlegende System darf absenden.")
            body = self.json_body()
            if sub["status"] != "incomplete":
                raise Problem(422, "Unprocessable Entity", "Die Einreichung ist bereits abgesendet.")
            missing = [a for a in sub["announced"] if a not in sub["attachments"]]
            if missing:
                raise Problem(422, "Unprocessable Entity", "Angekündigte Anlagen fehlen: " + ", ".join(missing))
            meta = body.get("encryptedMetadata")
            if not isinstance(meta, str) or not JWE_RE.match(meta):
                raise Problem(400, "Bad Request", "encryptedMetadata ist kein JWE.")
            data = body.get("encryptedData")
            if data is not None and (not isinstance(data, str) or not JWE_RE.match(data)):
                raise Problem(400, "Bad Request", "encryptedData ist kein JWE.")
            sub.update(status="submitted", metadata=meta, data=data, submitted=st.now())
            st.cases[sub["caseId"]].append(st.set_token("submit-submission", "submission:" + sid, sub["caseId"], None,
                                                        {"authenticationTags": {}}))
            return self.reply(202, {"destinationId": sub["destinationId"], "submissionId": sid, "caseId": sub["caseId"]})
        if len(parts) == 3 and method == "GET":
            if not (is_sender or is_subscriber):
                raise Problem(403, "Forbidden", "Kein Zugriff auf diese Einreichung.")
            if is_subscriber and sub["status"] == "submitted":
                sub["status"] = "forwarded"
            out = {"destinationId": sub["destinationId"], "submissionId": sid, "caseId": sub["caseId"],
                   "serviceType": sub["serviceType"], "attachments": sub["announced"], "status": sub["status"]}
            if is_subscriber and sub["metadata"]:
                out["encryptedMetadata"] = sub["metadata"]
                if sub["data"]:
                    out["encryptedData"] = sub["data"]
            return self.reply(200, out)
        if len(parts) == 5 and parts[3] == "attachments":
            aid = self.uuid_arg(parts[4], "attachmentId")
            if method == "PUT":
                if not is_sender:
                    raise Problem(403, "Forbidden", "Nur das anlegende System darf Anlagen hochladen.")
                if self.media_type() != "application/jose":
                    raise Problem(415, "Unsupported Media Type", "Anlagen werden als application/jose (JWE) hochgeladen.")
                if aid not in sub["announced"]:
                    raise Problem(422, "Unprocessable Entity", "Diese Anlage wurde nicht angekündigt.")
                if sub["status"] != "incomplete":
                    raise Problem(422, "Unprocessable Entity", "Die Einreichung ist bereits abgesendet.")
                body = self.body(MAX_ATTACHMENT).decode("ascii", errors="replace")
                if not JWE_RE.match(body):
                    raise Problem(400, "Bad Request", "Die Anlage ist kein JWE in kompakter Serialisierung.")
                sub["attachments"][aid] = body
                return self.reply(204)
            if method == "GET":
                if not is_subscriber:
                    raise Problem(403, "Forbidden", "Kein Zugriff auf diese Anlage.")
                if aid not in sub["attachments"]:
                    raise Problem(404, "Not Found", "Anlage unbekannt.")
                return self.reply(200, sub["attachments"][aid].encode(), "application/jose")
        raise Problem(404, "Not Found", "Unbekannter Pfad.")

    def events(self, method, case_id):
        st = self.store
        client = self.client()
        subs = [s for s in st.submissions.values() if s["caseId"] == case_id]
        if case_id not in st.cases:
            raise Problem(404, "Not Found", "Vorgang unbekannt.")
        allowed = any(client["id"] == s["sender"] or self.may_subscribe(client, s["destinationId"]) for s in subs)
        if not allowed:
            raise Problem(403, "Forbidden", "Kein Zugriff auf diesen Vorgang.")
        if method == "GET":
            log = st.cases[case_id]
            return self.reply(200, {"count": len(log), "offset": 0, "totalCount": len(log), "eventLog": log})
        if method != "POST":
            raise Problem(405, "Method Not Allowed", "")
        if self.media_type() != "application/jose":
            raise Problem(415, "Unsupported Media Type", "Ereignisse werden als application/jose (SET) gesendet.")
        token = self.body(256 * 1024).decode("ascii", errors="replace").strip()
        try:
            header = json.loads(jws.base64url_decode(token.split(".")[0]))
            claims = json.loads(jws.base64url_decode(token.split(".")[1]))
        except Exception:
            raise Problem(400, "Bad Request", "Kein Security Event Token.")
        sub_id = (claims.get("sub") or "").removeprefix("submission:")
        sub = st.submissions.get(sub_id.lower())
        if not sub or sub["caseId"] != case_id:
            raise Problem(422, "Unprocessable Entity", "Das Ereignis nennt keine Einreichung dieses Vorgangs.")
        if not self.may_subscribe(client, sub["destinationId"]):
            raise Problem(403, "Forbidden", "Nur der Zustellpunkt darf diese Einreichung annehmen oder zurückweisen.")
        events = list((claims.get("events") or {}).keys())
        if len(events) != 1 or events[0] not in (EVENT_BASE + "accept-submission", EVENT_BASE + "reject-submission"):
            raise Problem(422, "Unprocessable Entity", "Erlaubt sind accept-submission und reject-submission.")
        key = st.destinations[sub["destinationId"]].get("signingKey")
        if header.get("alg") != "PS512" or not key or header.get("kid") != key.get("kid"):
            raise Problem(422, "Unprocessable Entity", "Signatur muss PS512 mit dem Signaturschlüssel des Zustellpunkts sein.")
        try:
            verifier = jws.JWS()
            verifier.deserialize(token)
            verifier.verify(jwk.JWK(**key), alg="PS512")
        except Exception:
            raise Problem(422, "Unprocessable Entity", "Die Signatur des Ereignisses ist ungültig.")
        if sub["status"] in ("accepted", "rejected"):
            raise Problem(409, "Conflict", "Die Einreichung wurde bereits angenommen oder zurückgewiesen.")
        if sub["status"] not in ("submitted", "forwarded"):
            raise Problem(422, "Unprocessable Entity", "Die Einreichung ist noch nicht abgesendet.")
        sub["status"] = "accepted" if events[0].endswith("accept-submission") else "rejected"
        st.cases[case_id].append(token)
        self.reply(204)

    # --- test controls --------------------------------------------------------------------
    def test_control(self, method, path):
        st = self.store
        if method == "POST" and path == "/_test/clock":
            st.offset += float(self.json_body().get("advanceSeconds", 0))
            with st.lock:
                st.expire()
            return self.reply(200, {"now": st.now()})
        if method == "POST" and path == "/_test/outage":
            body = self.json_body()
            st.outage_until = time.time() + float(body.get("seconds", 0))
            # optional: only requests starting with this ("POST /v1/cases/" = decisions and events)
            st.outage_only = str(body.get("only", ""))
            return self.reply(200, {"until": st.outage_until})
        if method == "POST" and path == "/_test/tamper":
            from jwcrypto import jwe
            body = self.json_body()
            with st.lock:
                sub = st.submissions.get(self.uuid_arg(body.get("submissionId"), "submissionId"))
                if not sub or not sub["attachments"]:
                    raise Problem(404, "Not Found", "Einreichung ohne Anlage.")
                key = st.destinations[sub["destinationId"]]["encryptionKey"]
                token = jwe.JWE(b"manipulierter Inhalt", protected=json_encode(
                    {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": key.get("kid"), "cty": "application/pdf"}))
                token.add_recipient(jwk.JWK(**key))
                first = sorted(sub["attachments"])[0]
                sub["attachments"][first] = token.serialize(compact=True)
            return self.reply(200, {"tampered": first})
        if method == "GET" and path == "/_test/stats":
            counts = {}
            for s in st.submissions.values():
                counts[s["status"]] = counts.get(s["status"], 0) + 1
            return self.reply(200, counts)
        raise Problem(404, "Not Found", "Unbekannte Teststeuerung.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8099)
    ap.add_argument("--config", required=True)
    ap.add_argument("--key", help="PEM of the SET signing key (RSA-4096); without it a new key is generated")
    args = ap.parse_args()
    config = json.load(open(args.config))
    Handler.store = Store(config, f"http://127.0.0.1:{args.port}", args.key)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"Zustelldienst-Double auf http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
