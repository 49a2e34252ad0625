import Foundation

/// Whether a tenant uses a capability, with what people read next to it ("seit 01.02.2026",
/// "12 Rechnungen in 90 Tagen").
public struct CapabilityState: Sendable, Equatable {
    public var live: Bool
    public var detail: String
    public init(live: Bool, detail: String = "") { self.live = live; self.detail = detail }
    public static let off = CapabilityState(live: false)
}

/// One tenant's row of the roll-out matrix, as plain values.
public struct TenantRow: Sendable, Equatable {
    public var ars: String
    public var name: String
    /// gemeinde | gemeindeverband | kreis | land
    public var level: String
    public var kreisARS: String
    public var kreisName: String
    /// none | applied | member | rejected | notice_given
    public var membership: String
    public var latitude: Double?
    public var longitude: Double?
    public var states: [String: CapabilityState]

    public init(ars: String, name: String, level: String, kreisARS: String, kreisName: String, membership: String,
                latitude: Double? = nil, longitude: Double? = nil, states: [String: CapabilityState] = [:]) {
        self.ars = ars; self.name = name; self.level = level; self.kreisARS = kreisARS; self.kreisName = kreisName; self.membership = membership
        self.latitude = latitude; self.longitude = longitude; self.states = states
    }

    public func isLive(_ capability: String) -> Bool { states[capability]?.live ?? false }
}

/// Live tenants of all tenants, as a share.
public struct Share: Sendable, Equatable {
    public var live: Int
    public var total: Int
    public init(live: Int, total: Int) { self.live = live; self.total = total }
    /// Whole percent, rounded half up; 0 when there is nobody.
    public var percent: Int { total == 0 ? 0 : (live * 200 + total) / (total * 2) }
    /// "12 von 40 (30 %)"
    public var german: String { "\(live) von \(total) (\(percent) %)" }
    public var english: String { "\(live) of \(total) (\(percent) %)" }
}

public struct KreisShares: Sendable, Equatable {
    public var kreisARS: String
    public var kreisName: String
    public var tenants: Int
    public var shares: [String: Share]
}

public struct Filter: Sendable, Equatable {
    public var kreis: String?
    public var level: String?
    public var membership: String?
    public var search: String?
    public init(kreis: String? = nil, level: String? = nil, membership: String? = nil, search: String? = nil) {
        self.kreis = kreis; self.level = level; self.membership = membership; self.search = search
    }
}

public enum RolloutAggregate {
    /// Lowercased, umlauts and ß spelled out, so "Kölleda" is found as "koelleda" and "kolleda".
    public static func fold(_ s: String) -> String {
        var out = s.lowercased()
        for (a, b) in [("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")] { out = out.replacingOccurrences(of: a, with: b) }
        return out
    }

    public static func filter(_ rows: [TenantRow], _ f: Filter) -> [TenantRow] {
        let needle = f.search.map { fold($0.trimmingCharacters(in: .whitespaces)) } ?? ""
        let plain = needle.replacingOccurrences(of: "ae", with: "a").replacingOccurrences(of: "oe", with: "o").replacingOccurrences(of: "ue", with: "u")
        return rows.filter { r in
            if let k = f.kreis, !k.isEmpty, r.kreisARS != k { return false }
            if let l = f.level, !l.isEmpty, r.level != l { return false }
            if let m = f.membership, !m.isEmpty, r.membership != m { return false }
            if !needle.isEmpty {
                let name = fold(r.name)
                let namePlain = name.replacingOccurrences(of: "ae", with: "a").replacingOccurrences(of: "oe", with: "o").replacingOccurrences(of: "ue", with: "u")
                if !name.contains(needle) && !namePlain.contains(plain) && !r.ars.hasPrefix(needle) { return false }
            }
            return true
        }
    }

    /// Shares for the whole set and per Kreis (a kreisfreie Stadt is its own Kreis), in name order.
    public static func shares(_ rows: [TenantRow], capabilities: [String]) -> (total: [String: Share], perKreis: [KreisShares]) {
        var total: [String: Share] = [:]
        var byKreis: [String: (name: String, n: Int, live: [String: Int])] = [:]
        var liveTotal: [String: Int] = [:]
        for r in rows {
            var k = byKreis[r.kreisARS] ?? (r.kreisName, 0, [:])
            k.n += 1
            for c in capabilities where r.isLive(c) {
                k.live[c, default: 0] += 1
                liveTotal[c, default: 0] += 1
            }
            byKreis[r.kreisARS] = k
        }
        for c in capabilities { total[c] = Share(live: liveTotal[c] ?? 0, total: rows.count) }
        let perKreis = byKreis.map { ars, v in
            KreisShares(kreisARS: ars, kreisName: v.name, tenants: v.n,
                        shares: Dictionary(uniqueKeysWithValues: capabilities.map { ($0, Share(live: v.live[$0] ?? 0, total: v.n)) }))
        }.sorted { ($0.kreisName, $0.kreisARS) < ($1.kreisName, $1.kreisARS) }
        return (total, perKreis)
    }
}

/// Places on an SVG map of a state: longitude scaled by the cosine of the middle latitude, so
/// the state keeps its shape; north is up.
public struct MapProjection: Sendable {
    public let minLat: Double, maxLat: Double, minLon: Double, maxLon: Double
    public let width: Double, height: Double
    let scale: Double

    public init?(points: [(Double, Double)], width: Double, padding: Double = 10) {
        guard let first = points.first else { return nil }
        var (a, b, c, d) = (first.0, first.0, first.1, first.1)
        for (lat, lon) in points { a = min(a, lat); b = max(b, lat); c = min(c, lon); d = max(d, lon) }
        minLat = a; maxLat = b; minLon = c; maxLon = d
        let k = cos((a + b) / 2 * .pi / 180)
        let spanX = max((d - c) * k, 0.0001), spanY = max(b - a, 0.0001)
        scale = (width - 2 * padding) / spanX
        self.width = width
        height = spanY * scale + 2 * padding
        pad = padding
        cosLat = k
    }
    let pad: Double
    let cosLat: Double

    public func project(lat: Double, lon: Double) -> (x: Double, y: Double) {
        ((lon - minLon) * cosLat * scale + pad, (maxLat - lat) * scale + pad)
    }
}

/// A monthly line chart's points: x per month, y = share in percent (0 at the bottom).
public enum MonthlySeries {
    public static func polyline(_ percents: [Int], width: Double, height: Double, left: Double = 40, bottom: Double = 20) -> String {
        guard !percents.isEmpty else { return "" }
        let step = percents.count > 1 ? (width - left - 10) / Double(percents.count - 1) : 0
        return percents.enumerated().map { i, p in
            let x = left + Double(i) * step
            let y = (height - bottom) - (height - bottom - 10) * Double(min(max(p, 0), 100)) / 100
            return String(format: "%.1f,%.1f", x, y)
        }.joined(separator: " ")
    }
}
