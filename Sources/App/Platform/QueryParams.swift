import Vapor

struct QueryParamsKey: StorageKey { typealias Value = [String: String] }

extension Request {
    /// The URL query as a flat dictionary (first value wins), parsed once per request.
    /// Vapor's `req.query[…]` runs the full form decoder on every access; hot endpoints read many keys.
    var queryParams: [String: String] {
        if let cached = storage[QueryParamsKey.self] { return cached }
        var out: [String: String] = [:]
        for pair in (url.query ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.formDecode(kv[0])
            guard out[key] == nil else { continue }
            out[key] = kv.count > 1 ? Self.formDecode(kv[1]) : ""
        }
        storage[QueryParamsKey.self] = out
        return out
    }

    private static func formDecode(_ s: Substring) -> String {
        let plus = s.replacingOccurrences(of: "+", with: " ")
        return plus.removingPercentEncoding ?? plus
    }
}
