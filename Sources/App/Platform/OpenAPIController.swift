import Vapor

/// Serves the OpenAPI 3.1 description of every `/api/v1` route. The document is a reviewed
/// file; a test compares its paths and methods with the router so it cannot drift.
enum OpenAPIController {
    static let url = Bundle.module.bundleURL.appendingPathComponent("Resources/openapi.json")

    @Sendable static func document(req: Request) async throws -> Response {
        let data = try Data(contentsOf: url)
        let res = Response(status: .ok, body: .init(data: data))
        res.headers.contentType = .json
        return res
    }
}
