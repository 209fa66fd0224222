/**
 * TEST DOUBLE of a reverse proxy (standing in for the nginx/ingress users put in front of a
 * tracking server): a Bun.serve on 127.0.0.1 that forwards every request to a real server and can
 * (a) refuse bodies above a limit with nginx's 413 page (client_max_body_size), (b) forward a
 * fixed Host header (proxy_set_header Host <public name>), (c) demand Basic auth (auth_basic),
 * (d) answer 403 to every write (a read-only deployment: `limit_except GET { deny all; }`,
 * MLflow's auth with a READ permission), letting reads through, (e) demand a bearer token
 * (an OAuth2 proxy or an API gateway in front of MLflow: `Authorization: Bearer <token>`),
 * (f) answer the n-th request to a path with a scripted failure, after forwarding it (a gateway
 * timeout after the server committed) or instead of forwarding it (the server's own 400/503).
 * Every request is recorded (path, User-Agent, whether its credentials were accepted, a small
 * JSON body).
 * The server behind it is real; only the proxy is a double.
 */
export interface ProxyDoubleOptions {
  target: string;
  bodyLimit?: number;
  host?: string;
  basicAuth?: { user: string; password: string };
  /** 403 for every request that writes (anything but GET/HEAD and MLflow's search POSTs). */
  readOnly?: boolean;
  /** 401 for every request without `Authorization: Bearer <bearer>`. */
  bearer?: string;
  faults?: ProxyFault[];
  /** Forward the client's Authorization header (a server behind that checks its own keys: the W&B and ClearML doubles). */
  passAuth?: boolean;
}

export interface ProxyFault {
  /** The request path ends with this ("/runs/create"). */
  path: string;
  /** Only requests whose body contains this count (and fail). */
  bodyIncludes?: string;
  /** Which request to that path fails, 1-based. */
  nth: number;
  /** Forward it first (it takes effect on the server) and answer the failure instead of the server's answer. */
  forward: boolean;
  status: number;
  body: string;
}

export interface ProxyRequest {
  method: string;
  path: string;
  userAgent: string;
  authorized: boolean;
  /** A JSON body under 4 KB, as sent. */
  body?: string;
}

const READS = /\/(search|get|get-by-name|list)$/;

export function startProxyDouble(o: ProxyDoubleOptions): { url: string; requests: ProxyRequest[]; stop(): void } {
  const requests: ProxyRequest[] = [];
  const turns = new Map<ProxyFault, number>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: 1 << 30,
    async fetch(req) {
      const seen: ProxyRequest = { method: req.method, path: new URL(req.url).pathname, userAgent: req.headers.get("user-agent") ?? "", authorized: true };
      requests.push(seen);
      if (o.bearer !== undefined && req.headers.get("authorization") !== `Bearer ${o.bearer}`) {
        seen.authorized = false;
        return new Response("<html><head><title>401 Authorization Required</title></head></html>", { status: 401, headers: { "www-authenticate": 'Bearer realm="mlflow"' } });
      }
      if (o.bodyLimit !== undefined && Number(req.headers.get("content-length") ?? 0) > o.bodyLimit)
        return new Response("<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", { status: 413, headers: { "content-type": "text/html" } });
      if (o.basicAuth && req.headers.get("authorization") !== `Basic ${btoa(`${o.basicAuth.user}:${o.basicAuth.password}`)}`) {
        seen.authorized = false;
        return new Response("<html><head><title>401 Authorization Required</title></head></html>", { status: 401, headers: { "www-authenticate": 'Basic realm="mlflow"' } });
      }
      const u = new URL(req.url);
      if (o.readOnly && req.method !== "GET" && req.method !== "HEAD" && !READS.test(u.pathname))
        return new Response(JSON.stringify({ error_code: "PERMISSION_DENIED", message: "Permission denied" }), { status: 403, headers: { "content-type": "application/json" } });
      const headers = new Headers(req.headers);
      if (!o.passAuth) headers.delete("authorization");
      if (o.host) headers.set("host", o.host);
      else headers.delete("host");
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
      const text = body && /json/.test(req.headers.get("content-type") ?? "") ? new TextDecoder().decode(body) : "";
      if (text && text.length < 4096) seen.body = text;
      // Every rule that matches counts the request; the first one whose turn it is answers it.
      let fault: ProxyFault | undefined;
      for (const f of o.faults ?? []) {
        if (!u.pathname.endsWith(f.path) || (f.bodyIncludes !== undefined && !text.includes(f.bodyIncludes))) continue;
        const n = (turns.get(f) ?? 0) + 1;
        turns.set(f, n);
        if (n === f.nth) fault ??= f;
      }
      const failure = () => new Response(fault!.body, { status: fault!.status, headers: { "content-type": "application/json" } });
      if (fault && !fault.forward) return failure();
      const res = await fetch(`${o.target}${u.pathname}${u.search}`, { method: req.method, headers, body, redirect: "manual" });
      if (fault) {
        await res.arrayBuffer();
        return failure();
      }
      const out = new Headers(res.headers);
      out.delete("content-encoding");
      out.delete("content-length");
      return new Response(await res.arrayBuffer(), { status: res.status, headers: out });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, requests, stop: () => server.stop(true) };
}
