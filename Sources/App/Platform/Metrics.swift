import Fluent
import NIOConcurrencyHelpers
import SQLKit
import Vapor

/// Request counts and latency histograms per route, in Prometheus text format.
/// Per instance by design: Prometheus scrapes every instance and sums.
final class MetricsRegistry: Sendable {
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    struct Series: Sendable {
        var count = 0
        var sum = 0.0
        var buckets = [Int](repeating: 0, count: MetricsRegistry.buckets.count)
    }

    struct Key: Hashable, Sendable { let method: String; let route: String; let status: Int }

    private let state = NIOLockedValueBox<[Key: Series]>([:])

    func observe(method: String, route: String, status: Int, seconds: Double) {
        state.withLockedValue { s in
            var series = s[Key(method: method, route: route, status: status)] ?? Series()
            series.count += 1
            series.sum += seconds
            for (i, b) in Self.buckets.enumerated() where seconds <= b { series.buckets[i] += 1 }
            s[Key(method: method, route: route, status: status)] = series
        }
    }

    func render(extra: [String]) -> String {
        let snapshot = state.withLockedValue { $0 }
        var out = "# HELP rathaus_http_requests_total HTTP requests by route and status.\n# TYPE rathaus_http_requests_total counter\n"
        let keys = snapshot.keys.sorted { ($0.route, $0.method, $0.status) < ($1.route, $1.method, $1.status) }
        for k in keys {
            out += "rathaus_http_requests_total{method=\"\(k.method)\",route=\"\(Self.escape(k.route))\",status=\"\(k.status)\"} \(snapshot[k]!.count)\n"
        }
        out += "# HELP rathaus_http_request_duration_seconds Latency by route.\n# TYPE rathaus_http_request_duration_seconds histogram\n"
        var byRoute: [String: Series] = [:]
        var labels: [String: String] = [:]
        for (k, v) in snapshot {
            let id = "\(k.method) \(k.route)"
            labels[id] = "method=\"\(k.method)\",route=\"\(Self.escape(k.route))\""
            var agg = byRoute[id] ?? Series()
            agg.count += v.count
            agg.sum += v.sum
            for i in agg.buckets.indices { agg.buckets[i] += v.buckets[i] }
            byRoute[id] = agg
        }
        for id in byRoute.keys.sorted() {
            let v = byRoute[id]!, l = labels[id]!
            for (i, b) in Self.buckets.enumerated() {
                out += "rathaus_http_request_duration_seconds_bucket{\(l),le=\"\(b)\"} \(v.buckets[i])\n"
            }
            out += "rathaus_http_request_duration_seconds_bucket{\(l),le=\"+Inf\"} \(v.count)\n"
            out += "rathaus_http_request_duration_seconds_sum{\(l)} \(v.sum)\n"
            out += "rathaus_http_request_duration_seconds_count{\(l)} \(v.count)\n"
        }
        return out + extra.joined()
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}

struct MetricsRegistryKey: StorageKey { typealias Value = MetricsRegistry }

extension Application {
    var metrics: MetricsRegistry {
        if let m = storage[MetricsRegistryKey.self] { return m }
        let m = MetricsRegistry()
        storage[MetricsRegistryKey.self] = m
        return m
    }
}

struct MetricsMiddleware: AsyncMiddleware {
    func respond(to req: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let status: Int
        do {
            let res = try await next.respond(to: req)
            status = Int(res.status.code)
            record(req, status, start)
            return res
        } catch {
            status = Int(RathausErrorMiddleware.appError(from: error).status.code)
            record(req, status, start)
            throw error
        }
    }

    private func record(_ req: Request, _ status: Int, _ start: UInt64) {
        let route = req.route.map { "/" + $0.path.map(\.description).joined(separator: "/") } ?? "unmatched"
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        req.application.metrics.observe(method: req.method.rawValue, route: route, status: status, seconds: seconds)
    }
}

struct HealthController {
    func addRoutes(to app: Application) {
        app.get("health", use: health)
        app.get("metrics", use: metrics)
    }

    /// 200 `{"status":"ok"}` only when the database answers.
    @Sendable func health(req: Request) async throws -> Response {
        do {
            guard let sql = req.db as? any SQLDatabase else { throw Abort(.internalServerError) }
            try await sql.raw("SELECT 1").run()
            return try await ["status": "ok"].encodeResponse(for: req)
        } catch {
            let res = try await ["status": "fehler", "detail": "Datenbank nicht erreichbar"].encodeResponse(for: req)
            res.status = .serviceUnavailable
            return res
        }
    }

    /// `/metrics` shows routes, load and database health, which is reconnaissance for an attacker:
    /// only a bearer token with scope `metrics` (or `operator`) or an address listed in
    /// `RATHAUS_METRICS_ALLOW` (comma-separated, e.g. the Prometheus server) may read it.
    static func mayReadMetrics(_ req: Request) -> Bool {
        if let t = req.principal.token, !t.scopes.isDisjoint(with: [.metrics, .operator]) { return true }
        return req.application.rathaus.metricsAllow.contains(req.remoteAddress?.ipAddress ?? "")
    }

    @Sendable func metrics(req: Request) async throws -> Response {
        guard Self.mayReadMetrics(req) else {
            if req.principal.token == nil {
                throw AppError(.unauthorized, "auth.required", de: "Die Messwerte sind nur mit einem API-Token mit dem Scope „metrics“ oder von freigegebenen Adressen (RATHAUS_METRICS_ALLOW) abrufbar.",
                               en: "Metrics need an API token with scope 'metrics' or an address listed in RATHAUS_METRICS_ALLOW.")
            }
            throw AppError.forbidden
        }
        var extra: [String] = []
        let dbStart = DispatchTime.now().uptimeNanoseconds
        var up = 1
        if let sql = req.db as? any SQLDatabase {
            do { try await sql.raw("SELECT 1").run() } catch { up = 0 }
        } else {
            up = 0
        }
        let dbSeconds = Double(DispatchTime.now().uptimeNanoseconds - dbStart) / 1e9
        let engine = req.application.rathaus.databaseURL == nil ? "sqlite" : "postgresql"
        // PostgreSQL: 4 connections per event loop; SQLite: one connection in all (one writer)
        let perLoop = engine == "postgresql" ? 4 : 1
        let loops = engine == "postgresql" ? System.coreCount : 1
        extra.append("# HELP rathaus_db_up Database answered a probe.\n# TYPE rathaus_db_up gauge\nrathaus_db_up{engine=\"\(engine)\"} \(up)\n")
        extra.append("# HELP rathaus_db_probe_seconds Round trip of the probe query (waits for a pool connection).\n# TYPE rathaus_db_probe_seconds gauge\nrathaus_db_probe_seconds \(dbSeconds)\n")
        extra.append("# HELP rathaus_db_pool_max_connections Pool size (connections per event loop × event loops).\n# TYPE rathaus_db_pool_max_connections gauge\nrathaus_db_pool_max_connections \(perLoop * loops)\n")
        let res = Response(status: .ok, body: .init(string: req.application.metrics.render(extra: extra)))
        res.headers.contentType = HTTPMediaType(type: "text", subType: "plain", parameters: ["version": "0.0.4", "charset": "utf-8"])
        return res
    }
}
