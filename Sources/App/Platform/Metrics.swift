import Fluent
import Metrics
import Prometheus
import SQLKit
import Vapor

/// Metrics go through swift-metrics to the swift-prometheus backend: Vapor's own request metrics
/// (`http_requests_total`, `http_request_duration_seconds`, `http_request_errors_total`, labelled by
/// method, route pattern and status), the scheduler's (`rathaus_job_runs_total`,
/// `rathaus_job_duration_seconds`) and the database probe gauges set on each scrape. Per instance
/// by design: Prometheus scrapes every instance and sums.
enum RathausMetrics {
    /// One registry per process: swift-metrics has one global backend, bootstrapped once.
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                                   .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10)]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Makes sure the backend is in place before the first request is counted.
    static func bootstrap() { _ = registry }
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
        let registry = RathausMetrics.registry
        registry.makeGauge(name: "rathaus_db_up", labels: [("engine", engine)], help: "Database answered a probe.").set(Double(up))
        registry.makeGauge(name: "rathaus_db_probe_seconds", help: "Round trip of the probe query (waits for a pool connection).").set(dbSeconds)
        registry.makeGauge(name: "rathaus_db_pool_max_connections", help: "Pool size (connections per event loop × event loops).").set(Double(perLoop * loops))
        let res = Response(status: .ok, body: .init(string: registry.emitToString()))
        res.headers.contentType = HTTPMediaType(type: "text", subType: "plain", parameters: ["version": "0.0.4", "charset": "utf-8"])
        return res
    }
}
