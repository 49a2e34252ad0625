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

/// Validation holds the input, libxml2's tree and our own tree in memory at once (about ten times
/// the XML's size), and a PDF additionally up to its inflation budget. Counting requests does not
/// bound that: twenty 20 MB uploads at once would need gigabytes. This gate admits validations by
/// their estimated memory against one budget per instance (`RATHAUS_INTAKE_MEMORY_MB`, default
/// 256); requests beyond it wait in order, and give up with 503 after `maxWait` seconds.
actor IntakeMemoryGate {
    let capacity: Int
    let maxWait: TimeInterval
    private var inUse = 0
    private var waiting: [(id: UUID, bytes: Int, continuation: CheckedContinuation<Bool, Never>)] = []

    init(capacityBytes: Int, maxWait: TimeInterval = 30) {
        self.capacity = capacityBytes
        self.maxWait = maxWait
    }

    /// Memory a validation of `data` may need: the parsed trees are about ten times the XML; a PDF
    /// is the file plus its inflation budget, whose XML is then parsed as well.
    static func estimate(_ data: Data, inflationBudget: Int) -> Int {
        let isPDF = data.starts(with: Array("%PDF-".utf8))
        let xml = isPDF ? inflationBudget : data.count
        return data.count + xml * 10 + 1 << 20
    }

    /// Waits until `bytes` fit; false after `maxWait` (nothing reserved then).
    func acquire(_ bytes: Int) async -> Bool {
        let need = min(bytes, capacity)
        if waiting.isEmpty, inUse + need <= capacity {
            inUse += need
            return true
        }
        let id = UUID()
        let deadline = maxWait
        Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(deadline * 1e9))
            await self?.timeOut(id)
        }
        return await withCheckedContinuation { c in waiting.append((id, need, c)) }
    }

    func release(_ bytes: Int) {
        inUse -= min(bytes, capacity)
        wake()
    }

    private func timeOut(_ id: UUID) {
        guard let i = waiting.firstIndex(where: { $0.id == id }) else { return }
        waiting.remove(at: i).continuation.resume(returning: false)
        wake()
    }

    /// Admits waiting requests in arrival order while they fit.
    private func wake() {
        while let first = waiting.first, inUse + first.bytes <= capacity {
            waiting.removeFirst()
            inUse += first.bytes
            first.continuation.resume(returning: true)
        }
    }
}

struct IntakeMemoryGateKey: StorageKey { typealias Value = IntakeMemoryGate }

extension Application {
    /// Runs `work` once the memory gate admits a validation of `data` (503 when it cannot within its wait).
    func withIntakeMemory<T: Sendable>(for data: Data, inflationBudget: Int, _ work: @Sendable () async throws -> T) async throws -> T {
        guard let gate = storage[IntakeMemoryGateKey.self] else { return try await work() }
        let bytes = IntakeMemoryGate.estimate(data, inflationBudget: inflationBudget)
        guard await gate.acquire(bytes) else {
            throw AppError(.serviceUnavailable, "rechnung.busy",
                           de: "Der Rechnungseingang ist gerade ausgelastet. Bitte senden Sie die Rechnung in einigen Minuten erneut; es wurde nichts gespeichert.",
                           en: "Invoice intake is busy. Please send the invoice again in a few minutes; nothing was stored.")
        }
        do {
            let result = try await work()
            await gate.release(bytes)
            return result
        } catch {
            await gate.release(bytes)
            throw error
        }
    }
}
