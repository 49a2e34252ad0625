import XCTVapor
import XCTest
@testable import App

final class PlatformTests: XCTestCase {
    func testHealthChecksTheDatabase() async throws {
        let app = try await makeTestApp()
        let res = try await api(app, .GET, "/health")
        XCTAssertEqual(res.status, .ok)
        XCTAssertEqual(try res.json()["status"] as? String, "ok")
        try await app.shutdownOnce()
    }

    /// The value of the first series of `name` whose labels contain all of `labels` (0 when absent).
    func series(_ text: String, _ name: String, _ labels: [String]) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") && labels.allSatisfy({ line.contains($0) }) {
            return Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }

    /// `/metrics` is swift-prometheus' text, fed by Vapor's request metrics through swift-metrics.
    /// The registry is one per process (other tests count too), so the test compares before and after.
    func testMetricsCountRequestsByRoute() async throws {
        let app = try await makeTestApp()
        let token = try await createToken(app, tenant: "16", scopes: [.metrics])
        let route = "path=\"/api/v1/gebiete/:ars\""
        let before = try await api(app, .GET, "/metrics", token: token).text
        _ = try await api(app, .GET, "/api/v1/gebiete/16051")
        _ = try await api(app, .GET, "/api/v1/gebiete/1x")
        let res = try await api(app, .GET, "/metrics", token: token)
        XCTAssertEqual(res.status, .ok)
        XCTAssertEqual(res.headers.contentType?.subType, "plain")
        let ok = ["method=\"GET\"", route, "status=\"200\""], bad = ["method=\"GET\"", route, "status=\"400\""]
        XCTAssertEqual(series(res.text, "http_requests_total", ok) - series(before, "http_requests_total", ok), 1, res.text)
        XCTAssertEqual(series(res.text, "http_requests_total", bad) - series(before, "http_requests_total", bad), 1)
        let inf = ["method=\"GET\"", route, "status=\"200\"", "le=\"+Inf\""]
        XCTAssertEqual(series(res.text, "http_request_duration_seconds_bucket", inf) - series(before, "http_request_duration_seconds_bucket", inf), 1)
        XCTAssertTrue(res.text.contains("# TYPE http_request_duration_seconds histogram"))
        XCTAssertTrue(res.text.contains("rathaus_db_up{engine="))
        XCTAssertTrue(res.text.contains("rathaus_db_pool_max_connections"))
        // the scheduler reports through the same backend
        _ = try await app.scheduler.runNow("bereinigung", app: app, actor: "test")
        let after = try await api(app, .GET, "/metrics", token: token)
        XCTAssertGreaterThanOrEqual(series(after.text, "rathaus_job_runs_total", ["job=\"bereinigung\"", "status=\"succeeded\""]), 1, after.text)
        XCTAssertTrue(after.text.contains("rathaus_job_duration_seconds_bucket{job=\"bereinigung\""))
        try await app.shutdownOnce()
    }

    /// The OpenAPI document lists exactly the `/api/v1` routes the router has.
    func testOpenAPIDocumentMatchesTheRouter() async throws {
        let app = try await makeTestApp()
        let res = try await api(app, .GET, "/api/v1/openapi.json")
        XCTAssertEqual(res.status, .ok)
        let doc = try res.json()
        XCTAssertEqual(doc["openapi"] as? String, "3.1.0")
        let paths = try XCTUnwrap(doc["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, ops) in paths {
            for method in ops.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        var routed = Set<String>()
        for route in app.routes.all {
            let path = "/" + route.path.map { c -> String in
                if case .parameter(let name) = c { return "{\(name)}" }
                return c.description
            }.joined(separator: "/")
            guard path.hasPrefix("/api/v1/") else { continue }
            routed.insert("\(route.method.rawValue) \(path)")
        }
        XCTAssertEqual(documented.subtracting(routed), [], "documented but not routed")
        XCTAssertEqual(routed.subtracting(documented), [], "routed but not documented")
        try await app.shutdownOnce()
    }

    func testEveryTemplateTextExistsInBothLanguages() throws {
        XCTAssertEqual(Set(Texts.de.keys), Set(Texts.en.keys))
        let views = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/App/Resources/Views")
        let files = FileManager.default.enumerator(at: views, includingPropertiesForKeys: nil)!.compactMap { $0 as? URL }
            .filter { $0.pathExtension == "leaf" }
        XCTAssertGreaterThan(files.count, 15)
        let pattern = try NSRegularExpression(pattern: "#\\(t\\.([a-z_]+)\\)")
        for f in files {
            let text = try String(contentsOf: f, encoding: .utf8)
            for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let key = String(text[Range(m.range(at: 1), in: text)!])
                XCTAssertNotNil(Texts.de[key], "\(f.lastPathComponent): \(key)")
            }
        }
        for s in Role.allCases { XCTAssertNotNil(Texts.de["role_\(s.rawValue)"]) }
        for s in PlatformService.allCases { XCTAssertNotNil(Texts.en["service_\(s.rawValue)"]) }
    }

    func testPagesAreGermanByDefaultAndEnglishOnRequest() async throws {
        let app = try await makeTestApp()
        let de = try await api(app, .GET, "/")
        XCTAssertTrue(de.text.contains("<html lang=\"de\">"))
        XCTAssertTrue(de.text.contains("Zum Inhalt springen"))
        var h = HTTPHeaders()
        h.add(name: .acceptLanguage, value: "en-GB,en;q=0.9")
        let en = try await app.testable().sendRequest(.GET, "/", headers: h)
        XCTAssertTrue(en.text.contains("<html lang=\"en\">"))
        XCTAssertTrue(en.text.contains("Skip to content"))
        let sw = try await api(app, .GET, "/sprache/en?zurueck=//evil.example")
        XCTAssertEqual(sw.status, .seeOther)
        XCTAssertEqual(sw.headers.first(name: .location), "/", "no open redirect")
        XCTAssertEqual(sw.headers.setCookie?["lang"]?.string, "en")
        try await app.shutdownOnce()
    }

    func testBadJSONIsA400ProblemThatEchoesNothing() async throws {
        let app = try await makeTestApp()
        let token = try await createToken(app, tenant: "16", scopes: [.operator])
        let res = try await api(app, .POST, "/api/v1/umfragen", token: token, json: "{\"titel\": 42, \"geheim<script>\": 1")
        XCTAssertEqual(res.status, .badRequest)
        XCTAssertEqual(res.headers.first(name: .contentType), "application/problem+json; charset=utf-8")
        XCTAssertFalse(res.text.contains("geheim"))
        XCTAssertFalse(res.text.contains("script"))
        let p = try res.json()
        XCTAssertEqual(p["status"] as? Int, 400)
        XCTAssertTrue((p["detail"] as? String ?? "").contains("JSON"))
        let wrongType = try await app.testable().sendRequest(.POST, "/api/v1/umfragen", headers: ["Authorization": "Bearer \(token)", "Content-Type": "text/plain"], body: ByteBuffer(string: "x"))
        XCTAssertEqual(wrongType.status, .unsupportedMediaType)
        try await app.shutdownOnce()
    }

    func testUnknownPathsAre404InBothWorlds() async throws {
        let app = try await makeTestApp()
        let json = try await api(app, .GET, "/api/v1/gibtsnicht")
        XCTAssertEqual(json.status, .notFound)
        XCTAssertEqual(try json.json()["code"] as? String, "not_found")
        let html = try await api(app, .GET, "/gibtsnicht")
        XCTAssertEqual(html.status, .notFound)
        XCTAssertTrue(html.text.contains("<h1>Fehler (404)</h1>"))
        XCTAssertEqual(html.headers.first(name: "X-Frame-Options"), "DENY")
        XCTAssertNotNil(html.headers.first(name: "Content-Security-Policy"))
        try await app.shutdownOnce()
    }
}
