import Foundation
import Vapor

/// Abuse protection for the public e-invoice intake (API, upload, form): at most `limit` files
/// per client address in a sliding window. Per instance and in memory on purpose — it protects
/// validation CPU and storage, it is not an accounting of anything; behind a load balancer each
/// instance enforces its share. Configure with `RATHAUS_INTAKE_LIMIT` (files per 10 minutes).
actor IntakeLimiter {
    let limit: Int
    let window: TimeInterval
    private var hits: [String: [Date]] = [:]
    private var lastSweep = Date()

    init(limit: Int, window: TimeInterval = 600) {
        self.limit = limit
        self.window = window
    }

    /// Records `count` files for `client`; returns the seconds to wait when over the limit.
    func admit(_ client: String, count: Int = 1, now: Date = Date()) -> Int? {
        if now.timeIntervalSince(lastSweep) > window {
            hits = hits.filter { $0.value.contains { now.timeIntervalSince($0) < window } }
            lastSweep = now
        }
        var list = (hits[client] ?? []).filter { now.timeIntervalSince($0) < window }
        if list.count + count > limit {
            hits[client] = list
            let oldest = list.first ?? now
            return max(1, Int(window - now.timeIntervalSince(oldest)))
        }
        list.append(contentsOf: Array(repeating: now, count: count))
        hits[client] = list
        return nil
    }
}

struct IntakeLimiterKey: StorageKey { typealias Value = IntakeLimiter }

extension Request {
    /// Throws 429 with a German problem and Retry-After when this address sent too many files.
    func admitInvoices(_ count: Int) async throws {
        guard let limiter = application.storage[IntakeLimiterKey.self] else { return }
        if let wait = await limiter.admit(clientIP, count: count) {
            throw AppError(.tooManyRequests, "rechnung.rate_limit",
                           de: "Von dieser Adresse kamen in kurzer Zeit zu viele Rechnungen. Bitte senden Sie die übrigen in etwa \(max(1, wait / 60)) Minuten erneut; nichts davon ist verloren gegangen, was bereits bestätigt wurde.",
                           en: "Too many invoices from this address in a short time. Please send the rest again in about \(max(1, wait / 60)) minutes.")
        }
    }
}
