#!/usr/bin/env python3
"""A Kubernetes API-server double for Lifeboat's tests and benchmarks.

Serves the real discovery documents and objects from shared/testdata/kubernetes/ over HTTPS:
legacy and aggregated discovery, paged lists with continue tokens (and a forced 410 Expired),
label selectors, GET/POST/PUT/PATCH(merge)/DELETE with Status error bodies, bearer tokens and
client certificates, 403 for chosen resources, CRDs that become Established after a delay and
then appear in discovery. Prints the port it listens on as the first line of stdout.
"""
import argparse, base64, copy, glob, json, os, ssl, sys, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

import yaml

class StringTimes(yaml.SafeLoader):
    """YAML as Kubernetes reads it: timestamps stay strings."""


StringTimes.yaml_implicit_resolvers = {k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
                                       for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}

CORE_LIST_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return code, body


# ---------- label selectors ----------

def parse_selector(text):
    reqs, i, parts, depth, cur = [], 0, [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur); cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    for p in parts:
        p = p.strip()
        if " notin " in p or " in " in p:
            op = "notin" if " notin " in p else "in"
            key, rest = p.split(" " + op + " ", 1)
            values = {v.strip() for v in rest.strip().strip("()").split(",")}
            reqs.append((key.strip(), op, values))
        elif "!=" in p:
            k, v = p.split("!=", 1); reqs.append((k.strip(), "!=", {v.strip()}))
        elif "==" in p:
            k, v = p.split("==", 1); reqs.append((k.strip(), "=", {v.strip()}))
        elif "=" in p:
            k, v = p.split("=", 1); reqs.append((k.strip(), "=", {v.strip()}))
        elif p.startswith("!"):
            reqs.append((p[1:].strip(), "!", set()))
        else:
            reqs.append((p, "exists", set()))
    return reqs


def selector_matches(reqs, labels):
    labels = labels or {}
    for key, op, values in reqs:
        has = key in labels
        if op == "=" and not (has and labels[key] in values): return False
        if op == "!=" and has and labels[key] in values: return False
        if op == "in" and not (has and labels[key] in values): return False
        if op == "notin" and has and labels[key] in values: return False
        if op == "exists" and not has: return False
        if op == "!" and has: return False
    return True


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# ---------- the cluster ----------

class Cluster:
    def __init__(self, data, empty, generate, crd_delay):
        self.lock = threading.RLock()
        self.disc = os.path.join(data, "discovery")
        self.crd_delay = crd_delay
        self.rv = 1000
        self.resources = {}       # (group, resource) -> info
        self.by_kind = {}         # (group, kind) -> (group, resource)
        self.kind_any = {}        # kind -> (group, resource) for the preferred group
        self.groups = json.load(open(os.path.join(self.disc, "apis.json")))
        self.core = json.load(open(os.path.join(self.disc, "api__v1.json")))
        self.gv_docs = {"v1": self.core}
        self._register("", "v1", self.core)
        for g in self.groups["groups"]:
            for v in g["versions"]:
                path = os.path.join(self.disc, "apis__%s__%s.json" % (g["name"], v["version"]))
                if os.path.exists(path):
                    doc = json.load(open(path))
                    self.gv_docs[v["groupVersion"]] = doc
                    if v["version"] == g["preferredVersion"]["version"]:
                        self._register(g["name"], v["version"], doc)
        self.store = {}           # (group, resource) -> {(ns, name): obj}
        self.custom = {}          # group -> {"versions": [...], "resources": [...]} from CRDs
        for ns in ("default", "kube-system"):
            self._put_raw("", "namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": ns}, "spec": {"finalizers": ["kubernetes"]},
                                             "status": {"phase": "Active"}})
        if not empty:
            self._load_objects(os.path.join(data, "objects"))
        if generate:
            self._generate(generate)

    def _register(self, group, version, doc):
        for r in doc["resources"]:
            if "/" in r["name"]:
                continue
            key = (group, r["name"])
            self.resources[key] = {"group": group, "version": version, "name": r["name"], "kind": r["kind"],
                                   "namespaced": r["namespaced"], "verbs": r["verbs"]}
            self.by_kind[(group, r["kind"])] = key
            if r["kind"] not in self.kind_any or group == "":
                self.kind_any.setdefault(r["kind"], key)

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def _put_raw(self, group, resource, obj):
        info = self.resources[(group, resource)]
        md = obj.setdefault("metadata", {})
        md.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, "%s/%s/%s/%s" % (group, resource, md.get("namespace", ""), md["name"]))))
        md.setdefault("resourceVersion", self.next_rv())
        md.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        if not info["namespaced"]:
            md.pop("namespace", None)
        key = (md.get("namespace", "") if info["namespaced"] else "", md["name"])
        self.store.setdefault((group, resource), {}).setdefault(key, obj)

    def _load_objects(self, root):
        docs = []
        for path in sorted(glob.glob(os.path.join(root, "**", "*"), recursive=True)):
            if os.path.isdir(path) or path.endswith(".md"):
                continue
            try:
                text = open(path).read()
                found = list(yaml.load_all(text, Loader=StringTimes)) if not path.endswith(".json") else [json.loads(text)]
            except Exception:
                continue
            for d in found:
                if isinstance(d, dict) and d.get("kind", "").endswith("List") and "items" in d:
                    docs.extend(d["items"])
                elif isinstance(d, dict):
                    docs.append(d)
        crds = [d for d in docs if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]
        for d in crds + [d for d in docs if d not in crds]:
            if not isinstance(d, dict) or "kind" not in d or not isinstance(d.get("metadata"), dict) or "name" not in d["metadata"]:
                continue
            group = d.get("apiVersion", "v1").rpartition("/")[0]
            key = self.by_kind.get((group, d["kind"])) or self.kind_any.get(d["kind"])
            if key is None:
                continue  # custom resources whose CRD is not loaded
            info = self.resources[key]
            if "list" not in info["verbs"] or "create" not in info["verbs"]:
                continue
            d["apiVersion"] = (info["group"] + "/" if info["group"] else "") + info["version"]
            if info["namespaced"]:
                d["metadata"].setdefault("namespace", "default")
            self._put_raw(key[0], key[1], d)
            if d["kind"] == "CustomResourceDefinition":
                self._establish(d, immediately=True)
        # every namespace an object lives in exists, as in a real cluster
        for (g, r), objs in list(self.store.items()):
            for (ns, _) in list(objs):
                if ns and ("", ns) not in self.store[("", "namespaces")]:
                    self._put_raw("", "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                                                     "status": {"phase": "Active"}})

    def _generate(self, n):
        for i in range(100):
            self._put_raw("", "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench-%03d" % i},
                                             "status": {"phase": "Active"}})
        for i in range(n):
            ns = "bench-%03d" % (i % 100)
            self._put_raw("", "configmaps", {"metadata": {"name": "cm-%06d" % i, "namespace": ns,
                                                          "labels": {"app": "app-%d" % (i % 7), "tier": ["web", "db"][i % 2]}},
                                             "data": {"index": str(i), "payload": ("x%06d" % i) * 60}})

    # CRDs: become Established after crd_delay seconds; their group then appears in discovery.
    def _establish(self, crd, immediately=False):
        def done():
            with self.lock:
                spec = crd["spec"]
                group, plural = spec["group"], spec["names"]["plural"]
                versions = [v["name"] for v in spec.get("versions", [])] or [spec.get("version")]
                served = [v["name"] for v in spec.get("versions", []) if v.get("served", True)] or versions
                storage = next((v["name"] for v in spec.get("versions", []) if v.get("storage")), served[0])
                namespaced = spec.get("scope", "Namespaced") == "Namespaced"
                key = (group, plural)
                self.resources[key] = {"group": group, "version": storage, "name": plural, "kind": spec["names"]["kind"],
                                       "namespaced": namespaced, "custom": True,
                                       "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                self.by_kind[(group, spec["names"]["kind"])] = key
                entry = self.custom.setdefault(group, {"versions": served, "preferred": storage, "resources": {}})
                entry["resources"][plural] = self.resources[key]
                crd.setdefault("status", {})["conditions"] = [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}]
                crd["status"]["acceptedNames"] = spec["names"]
        if immediately or self.crd_delay <= 0:
            done()
        else:
            crd.setdefault("status", {})["conditions"] = [{"type": "Established", "status": "False", "reason": "Installing"}]
            threading.Timer(self.crd_delay, done).start()

    # ---- discovery documents ----
    def apis(self):
        doc = copy.deepcopy(self.groups)
        for group, entry in sorted(self.custom.items()):
            vs = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in entry["versions"]]
            doc["groups"].append({"name": group, "versions": vs,
                                  "preferredVersion": {"groupVersion": "%s/%s" % (group, entry["preferred"]), "version": entry["preferred"]}})
        return doc

    def group_version(self, group, version):
        gv = "%s/%s" % (group, version)
        if group in self.custom and version in self.custom[group]["versions"]:
            res = [{"name": r["name"], "singularName": r["kind"].lower(), "namespaced": r["namespaced"], "kind": r["kind"],
                    "verbs": r["verbs"]} for r in self.custom[group]["resources"].values()]
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": res}
        return self.gv_docs.get(gv)

    def aggregated(self, core):
        if core:
            return {"apiVersion": "apidiscovery.k8s.io/v2", "kind": "APIGroupDiscoveryList", "metadata": {},
                    "items": [self._agg_item("", ["v1"])]}
        items = [self._agg_item(g["name"], [v["version"] for v in g["versions"]]) for g in self.apis()["groups"]]
        return {"apiVersion": "apidiscovery.k8s.io/v2", "kind": "APIGroupDiscoveryList", "metadata": {}, "items": items}

    def _agg_item(self, group, versions):
        out = []
        for v in versions:
            doc = self.group_version(group, v) if group else self.core
            if doc is None:
                continue
            res = []
            for r in doc["resources"]:
                if "/" in r["name"]:
                    continue
                res.append({"resource": r["name"], "responseKind": {"group": "", "version": "", "kind": r["kind"]},
                            "scope": "Namespaced" if r["namespaced"] else "Cluster",
                            "singularResource": r.get("singularName", ""), "verbs": r["verbs"],
                            **({"shortNames": r["shortNames"]} if r.get("shortNames") else {}),
                            **({"categories": r["categories"]} if r.get("categories") else {})})
            out.append({"version": v, "resources": res, "freshness": "Current"})
        return {"metadata": {"name": group, "creationTimestamp": None}, "versions": out}


# ---------- HTTP ----------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cluster = None
    opts = None
    expired = set()

    def log_message(self, *args):
        pass

    def send_json(self, code, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else CORE_LIST_ENCODE.encode(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[7:] in self.opts.token:
            return True
        if auth.startswith("Basic ") and self.opts.basic and base64.b64decode(auth[6:]).decode() == self.opts.basic:
            return True
        try:
            if self.connection.getpeercert():
                return True
        except Exception:
            pass
        return not self.opts.token and not self.opts.client_ca and not self.opts.basic

    def body_json(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return yaml.load(raw, Loader=StringTimes)

    def handle_any(self, method):
        try:
            code, body, ctype = self.route(method)
        except Exception as e:  # a bug in the double must show up as a 500, not a hang
            code, body = status(500, "InternalError", "double: %r" % e)
            ctype = "application/json"
        self.send_json(code, body, ctype)

    do_GET = lambda self: self.handle_any("GET")
    do_POST = lambda self: self.handle_any("POST")
    do_PUT = lambda self: self.handle_any("PUT")
    do_PATCH = lambda self: self.handle_any("PATCH")
    do_DELETE = lambda self: self.handle_any("DELETE")

    def route(self, method):
        c = self.cluster
        if not self.authorized():
            return status(401, "Unauthorized", "Unauthorized") + ("application/json",)
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        parts = [p for p in url.path.split("/") if p]
        accept = self.headers.get("Accept", "")
        agg = "as=APIGroupDiscoveryList" in accept and self.opts.aggregated
        agg_type = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        with c.lock:
            if parts == ["version"]:
                return 200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0-lifeboat-double", "platform": "linux/amd64"}, "application/json"
            if parts == ["api"]:
                if agg:
                    return 200, c.aggregated(True), agg_type
                return 200, json.load(open(os.path.join(c.disc, "api.json"))), "application/json"
            if parts == ["apis"]:
                if agg:
                    return 200, c.aggregated(False), agg_type
                return 200, c.apis(), "application/json"
            if parts[:2] == ["api", "v1"]:
                group, version, rest = "", "v1", parts[2:]
            elif parts[:1] == ["apis"] and len(parts) >= 3:
                group, version, rest = parts[1], parts[2], parts[3:]
            elif parts[:1] == ["apis"] and len(parts) == 2:
                g = next((g for g in c.apis()["groups"] if g["name"] == parts[1]), None)
                if g is None:
                    return status(404, "NotFound", "the server could not find the requested resource") + ("application/json",)
                return 200, dict(g, kind="APIGroup", apiVersion="v1"), "application/json"
            else:
                return status(404, "NotFound", "the server could not find the requested resource") + ("application/json",)
            if not rest:
                doc = c.group_version(group, version) if group else c.core
                if doc is None:
                    return status(404, "NotFound", "the server could not find the requested resource") + ("application/json",)
                return 200, doc, "application/json"
            ns = None
            if rest[0] == "namespaces" and len(rest) >= 3:
                ns, rest = rest[1], rest[2:]
            resource, name = rest[0], (rest[1] if len(rest) > 1 else None)
            key = (group, resource)
            info = c.resources.get(key)
            if info is None or (info["version"] != version and not info.get("custom")):
                return status(404, "NotFound", "the server could not find the requested resource") + ("application/json",)
            qualified = resource + ("." + group if group else "")
            if qualified in self.opts.forbid:
                return status(403, "Forbidden", '%s is forbidden: User "lifeboat" cannot %s resource "%s" in API group "%s"'
                              % (qualified, method.lower(), resource, group), {"group": group, "kind": resource}) + ("application/json",)
            return self.resource_call(method, c, info, ns, name, q)

    def resource_call(self, method, c, info, ns, name, q):
        group, resource = info["group"], info["name"]
        objs = c.store.setdefault((group, resource), {})
        qualified = resource + ("." + group if group else "")
        gv = (group + "/" if group else "") + info["version"]
        if method == "GET" and name is None:
            return self.list(c, info, objs, ns, q, gv)
        if method == "POST":
            obj = self.body_json()
            if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict) or not obj["metadata"].get("name"):
                return status(422, "Invalid", "%s is invalid: metadata.name: Required value: name or generateName is required" % qualified) + ("application/json",)
            md = obj["metadata"]
            if info["namespaced"]:
                if md.get("namespace") not in (None, "", ns):
                    return status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request") + ("application/json",)
                if ("", ns) not in c.store[("", "namespaces")]:
                    return status(404, "NotFound", 'namespaces "%s" not found' % ns, {"name": ns, "kind": "namespaces"}) + ("application/json",)
                md["namespace"] = ns
            if md.get("resourceVersion"):
                return status(500, "InternalError", "resourceVersion should not be set on objects to be created") + ("application/json",)
            k = (ns or "", md["name"])
            if k in objs:
                d = {"name": md["name"], "kind": resource}
                if group:
                    d["group"] = group
                return status(409, "AlreadyExists", '%s "%s" already exists' % (qualified, md["name"]), d) + ("application/json",)
            md["uid"] = str(uuid.uuid4())
            md["resourceVersion"] = c.next_rv()
            md["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            obj["apiVersion"], obj["kind"] = gv, info["kind"]
            if resource == "services" and group == "" and obj.get("spec", {}).get("clusterIP") in (None, ""):
                obj.setdefault("spec", {})["clusterIP"] = "10.96.%d.%d" % (len(objs) // 250, len(objs) % 250 + 2)
            objs[k] = obj
            if resource == "customresourcedefinitions":
                c._establish(obj)
            return 201, obj, "application/json"
        k = (ns or "", name)
        if k not in objs:
            return status(404, "NotFound", '%s "%s" not found' % (qualified, name),
                          dict({"name": name, "kind": resource}, **({"group": group} if group else {}))) + ("application/json",)
        if method == "GET":
            return 200, self.with_type(objs[k], info, gv), "application/json"
        if method == "DELETE":
            del objs[k]
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}, "application/json"
        body = self.body_json()
        if method == "PUT":
            rv = body.get("metadata", {}).get("resourceVersion")
            if rv and rv != objs[k]["metadata"]["resourceVersion"]:
                return status(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; please apply your changes to the latest version and try again' % (qualified, name)) + ("application/json",)
            new = body
        elif method == "PATCH":
            if "merge-patch" not in self.headers.get("Content-Type", ""):
                return status(415, "UnsupportedMediaType", "the double supports only merge patches") + ("application/json",)
            new = merge_patch(objs[k], body)
        else:
            return status(405, "MethodNotAllowed", "method not allowed") + ("application/json",)
        old = objs[k]["metadata"]
        new.setdefault("metadata", {}).update({"uid": old["uid"], "creationTimestamp": old["creationTimestamp"],
                                               "resourceVersion": c.next_rv(), "name": name})
        if ns:
            new["metadata"]["namespace"] = ns
        objs[k] = new
        return 200, new, "application/json"

    @staticmethod
    def with_type(obj, info, gv):
        return dict(obj, apiVersion=gv, kind=info["kind"])

    def list(self, c, info, objs, ns, q, gv):
        keys = sorted(k for k in objs if ns is None or k[0] == ns)
        if "labelSelector" in q and q["labelSelector"]:
            reqs = parse_selector(q["labelSelector"])
            keys = [k for k in keys if selector_matches(reqs, objs[k]["metadata"].get("labels"))]
        if "fieldSelector" in q and q["fieldSelector"]:
            for term in q["fieldSelector"].split(","):
                neg = "!=" in term
                f, v = term.split("!=" if neg else "=", 1)
                f = f.rstrip("=")
                field = {"metadata.name": 1, "metadata.namespace": 0}.get(f)
                if field is None:
                    return status(400, "BadRequest", 'field label not supported: %s' % f) + ("application/json",)
                keys = [k for k in keys if (k[field] == v) != neg]
        start, rv = 0, str(c.rv)
        if q.get("continue"):
            try:
                token = json.loads(base64.b64decode(q["continue"]))
                start, rv = token["start"], token["rv"]
            except Exception:
                return status(400, "BadRequest", "continue key is not valid") + ("application/json",)
            qualified = info["name"] + ("." + info["group"] if info["group"] else "")
            if qualified in self.opts.expire_once and qualified not in Handler.expired:
                Handler.expired.add(qualified)
                return status(410, "Expired", "The provided continue parameter is too old to display a consistent list result. "
                              "You can start a new list without the continue parameter.") + ("application/json",)
        limit = int(q.get("limit") or 0) or len(keys)
        page = keys[start:start + limit]
        md = {"resourceVersion": rv}
        if start + limit < len(keys):
            md["continue"] = base64.b64encode(json.dumps({"start": start + limit, "rv": rv}).encode()).decode()
            md["remainingItemCount"] = len(keys) - start - limit
        custom = info.get("custom", False)
        items = [self.with_type(objs[k], info, gv) if custom else objs[k] for k in page]
        if not custom:
            items = [{kk: vv for kk, vv in o.items() if kk not in ("apiVersion", "kind")} for o in items]
        return 200, {"kind": info["kind"] + "List", "apiVersion": gv, "metadata": md, "items": items}, "application/json"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.environ.get("K8S_TESTDATA", ""))
    p.add_argument("--cert"); p.add_argument("--key")
    p.add_argument("--client-ca", help="CA that signs accepted client certificates")
    p.add_argument("--token", action="append", default=[])
    p.add_argument("--basic", help="user:password accepted for basic auth")
    p.add_argument("--forbid", action="append", default=[], help="resource[.group] answered with 403")
    p.add_argument("--expire-once", action="append", default=[], help="resource[.group] whose first continue gets 410")
    p.add_argument("--empty", action="store_true", help="only the default and kube-system namespaces")
    p.add_argument("--generate", type=int, default=0, help="N ConfigMaps across 100 namespaces")
    p.add_argument("--no-aggregated", dest="aggregated", action="store_false")
    p.add_argument("--crd-delay", type=float, default=0.5)
    p.add_argument("--port", type=int, default=0)
    opts = p.parse_args()
    Handler.cluster = Cluster(opts.data, opts.empty, opts.generate, opts.crd_delay)
    Handler.opts = opts
    server = ThreadingHTTPServer(("127.0.0.1", opts.port), Handler)
    server.daemon_threads = True
    if opts.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.cert, opts.key)
        if opts.client_ca:
            ctx.load_verify_locations(opts.client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
