/// Responsibility resolution: which office is responsible for a service in a place.
///
/// Rule (documented in the README): along the place's chain Gemeinde → Gemeindeverband → Kreis → Land,
/// the most specific explicit entry wins. Without an explicit entry the Typisierung decides:
/// - Typ 1 (Bund regelt und vollzieht): no municipal office.
/// - Typ 2, 3, 2/3, 4, 5 (Vollzug durch Land oder Kommune): the body that administers the place —
///   the first area along Gemeinde → Verwaltungsgemeinschaft → Kreis that has a main office. A member
///   of a Verwaltungsgemeinschaft therefore reaches the VG's office, a kreisfreie Stadt its own.
/// - anything else: the Kreis's main office.
///
/// Everything is interned to integers at build time; a resolution is a handful of dictionary probes.
public final class ResponsibilityResolver: Sendable {
    public enum Role: UInt8, Sendable, CaseIterable { case responsible = 0, contact = 1 }

    public enum Kind: UInt8, Sendable { case federal, executedLocally, other }

    public struct Step: Sendable, Equatable {
        public let area: Int32
        public let outcome: Outcome
    }

    public enum Outcome: Sendable, Equatable {
        case noEntry
        case explicit(office: Int32)
        case defaultOffice(office: Int32)
        case federal
        case noDefaultOffice
    }

    public struct Resolution: Sendable, Equatable {
        /// Office index, or -1 when nobody in the platform is responsible.
        public let office: Int32
        /// The area whose entry matched (or the administering body for a default), -1 if none.
        public let area: Int32
        public let isDefault: Bool
        public let path: [Step]
    }

    private let chains: [[Int32]]                 // area index of a Gemeinde → its chain (self first)
    private let explicit: [[UInt64: Int32]]       // per role: (service << 32 | area) → office
    private let mainOffice: [Int32: Int32]        // area → main office
    private let kinds: [Kind]                     // per service index
    private let kreisPosition: [Int8]             // per area: index of the Kreis in its chain (or -1)

    /// - Parameters:
    ///   - chains: for every area, its chain from itself up to the Land (only Gemeinden are asked, but
    ///     any area may be).
    ///   - entries: explicit responsibilities (service, area, role, office).
    ///   - mainOffices: area → the main office of the body of that area.
    ///   - kinds: per service index.
    ///   - kreisIndex: for every area, the position of its Kreis within its chain (-1 if none).
    public init(chains: [[Int32]], entries: [(service: Int32, area: Int32, role: Role, office: Int32)],
                mainOffices: [Int32: Int32], kinds: [Kind], kreisIndex: [Int8]) {
        self.chains = chains
        var tables = [[UInt64: Int32]](repeating: [:], count: Role.allCases.count)
        for e in entries {
            tables[Int(e.role.rawValue)][Self.key(e.service, e.area)] = e.office
        }
        explicit = tables
        mainOffice = mainOffices
        self.kinds = kinds
        kreisPosition = kreisIndex
    }

    @inline(__always) static func key(_ service: Int32, _ area: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: service)) << 32 | UInt64(UInt32(bitPattern: area))
    }

    public var entryCount: Int { explicit.reduce(0) { $0 + $1.count } }

    /// The area itself and the areas above it, up to the Land.
    public func chain(of area: Int32) -> [Int32] { chains[Int(area)] }

    /// Full resolution with the path that was tried.
    public func resolve(service: Int32, area: Int32, role: Role = .responsible) -> Resolution {
        let chain = chains[Int(area)]
        let table = explicit[Int(role.rawValue)]
        var path: [Step] = []
        path.reserveCapacity(chain.count + 1)
        for a in chain {
            if let office = table[Self.key(service, a)] {
                path.append(Step(area: a, outcome: .explicit(office: office)))
                return Resolution(office: office, area: a, isDefault: false, path: path)
            }
            path.append(Step(area: a, outcome: .noEntry))
        }
        switch kinds[Int(service)] {
        case .federal:
            path.append(Step(area: chain.last ?? area, outcome: .federal))
            return Resolution(office: -1, area: -1, isDefault: true, path: path)
        case .executedLocally:
            // administering body: first area below the Land with a main office
            for a in chain.dropLast() {
                if let office = mainOffice[a] {
                    path.append(Step(area: a, outcome: .defaultOffice(office: office)))
                    return Resolution(office: office, area: a, isDefault: true, path: path)
                }
            }
        case .other:
            let k = Int(kreisPosition[Int(area)])
            if k >= 0, k < chain.count, let office = mainOffice[chain[k]] {
                path.append(Step(area: chain[k], outcome: .defaultOffice(office: office)))
                return Resolution(office: office, area: chain[k], isDefault: true, path: path)
            }
        }
        path.append(Step(area: chain.last ?? area, outcome: .noDefaultOffice))
        return Resolution(office: -1, area: -1, isDefault: true, path: path)
    }

    /// Just the office, without recording the path (for callers that resolve in bulk).
    @inline(__always)
    public func office(service: Int32, area: Int32, role: Role = .responsible) -> Int32 {
        let chain = chains[Int(area)]
        let table = explicit[Int(role.rawValue)]
        for a in chain {
            if let office = table[Self.key(service, a)] { return office }
        }
        switch kinds[Int(service)] {
        case .federal: return -1
        case .executedLocally:
            for a in chain.dropLast() { if let o = mainOffice[a] { return o } }
            return -1
        case .other:
            let k = Int(kreisPosition[Int(area)])
            return k >= 0 && k < chain.count ? (mainOffice[chain[k]] ?? -1) : -1
        }
    }

    /// Maps a LeiKa Typisierung text (`1`, `2/3`, `4`, `1, 2/3` …) to the default rule.
    public static func kind(forTypisierung t: String) -> Kind {
        let parts = t.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        if parts.isEmpty { return .other }
        if parts.contains(where: { ["2", "3", "2/3", "4", "5"].contains($0) }) { return .executedLocally }
        if parts == ["1"] { return .federal }
        return .other
    }
}
