import Foundation

/// A Gemeinde as the place search sees it.
public struct Place: Sendable, Equatable {
    public let ars: String
    public let name: String
    public let plz: [String]
    public let kreis: String

    public init(ars: String, name: String, plz: [String], kreis: String) {
        self.ars = ars; self.name = name; self.plz = plz; self.kreis = kreis
    }
}

public enum PlaceMatch: Sendable, Equatable {
    case none
    case one(Place)
    /// A name or postcode that covers several Gemeinden: the caller must ask, never guess.
    case several([Place])
}

/// Finds a Gemeinde by name (as typed, umlauts and case folded, official suffixes like
/// „, Stadt“ optional), by postcode or by ARS.
public final class PlaceIndex: Sendable {
    private let byARS: [String: Place]
    private let byPLZ: [String: [Place]]
    private let byName: [String: [Place]]
    private let names: [(String, Place)]   // sorted by normalised name, for prefix search

    public init(_ places: [Place]) {
        var a: [String: Place] = [:], p: [String: [Place]] = [:], n: [String: [Place]] = [:]
        var list: [(String, Place)] = []
        for place in places {
            a[place.ars] = place
            for z in place.plz { p[z, default: []].append(place) }
            let key = Self.nameKey(place.name)
            n[key, default: []].append(place)
            list.append((key, place))
        }
        byARS = a; byPLZ = p; byName = n
        names = list.sorted { $0.0 < $1.0 }
    }

    /// `Erfurt, Stadt` → `erfurt`; `Bad Berka, Stadt` → `bad berka`.
    public static func nameKey(_ name: String) -> String {
        let main = name.split(separator: ",").first.map(String.init) ?? name
        return GermanText.tokens(main).joined(separator: " ")
    }

    public func find(_ query: String) -> PlaceMatch {
        let q = query.trimmingCharacters(in: .whitespaces)
        if q.count == 12, q.allSatisfy(\.isNumber) { return byARS[q].map { .one($0) } ?? .none }
        if q.count == 5, q.allSatisfy(\.isNumber) { return Self.match(byPLZ[q] ?? []) }
        let key = Self.nameKey(q)
        guard !key.isEmpty else { return .none }
        if let exact = byName[key] { return Self.match(exact) }
        // prefix of the name, e.g. "Bad Ber"
        var found: [Place] = []
        var lo = 0, hi = names.count
        while lo < hi { let mid = (lo + hi) / 2; if names[mid].0 < key { lo = mid + 1 } else { hi = mid } }
        while lo < names.count, names[lo].0.hasPrefix(key), found.count < 20 { found.append(names[lo].1); lo += 1 }
        return Self.match(found)
    }

    public func place(ars: String) -> Place? { byARS[ars] }

    static func match(_ list: [Place]) -> PlaceMatch {
        switch list.count {
        case 0: return .none
        case 1: return .one(list[0])
        default: return .several(list.sorted { $0.ars < $1.ars })
        }
    }
}
