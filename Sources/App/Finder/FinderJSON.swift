import Foundation
import Finder

/// Hand-written JSON for `/api/v1/zustaendigkeiten`, byte-compatible with the Codable DTOs
/// (a test decodes it with the same DTOs). Foundation's JSONEncoder spent a fifth of the request
/// time on this response; office objects are now serialised once per snapshot.
enum FinderJSON {
    static func string(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 {
                    let hex = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }

    static func encoded<T: Encodable>(_ v: T) -> String {
        (try? String(decoding: JSONEncoder().encode(v), as: UTF8.self)) ?? "null"
    }

    static func area(_ a: MatchedAreaDTO) -> String {
        "{\"ars\":\(string(a.ars)),\"ebene\":\(string(a.ebene)),\"name\":\(string(a.name))}"
    }

    static func path(_ p: [PathStepDTO]) -> String {
        "[" + p.map { "{\"gebiet\":\(string($0.gebiet)),\"ebene\":\(string($0.ebene)),\"name\":\(string($0.name)),\"ergebnis\":\(string($0.ergebnis))}" }
            .joined(separator: ",") + "]"
    }

    static func resolution(_ list: ResolutionList, snap: FinderSnapshot) -> String {
        var out = "{\"items\":["
        for (i, item) in list.items.enumerated() {
            if i > 0 { out += "," }
            let o = item.organisationseinheit
            let open = "\"jetztGeoeffnet\":\(o.jetztGeoeffnet)" + (o.naechsteOeffnung.map { ",\"naechsteOeffnung\":\(string($0))" } ?? "")
            let office = snap.officeIndex[o.id].map { snap.offices[Int($0)].staticJSON } ?? "{}"
            // the static part ends with "}"; the per-minute fields go in front of it
            let merged = office.dropLast() + (office.count > 2 ? "," : "") + open + "}"
            out += "{\"rolle\":\(string(item.rolle)),\"organisationseinheit\":\(merged),\"gebiet\":\(area(item.gebiet)),\"standard\":\(item.standard),\"pfad\":\(path(item.pfad))}"
        }
        out += "],\"total\":\(list.total),\"next\":null,\"leistung\":\(encoded(list.leistung)),\"ort\":\(area(list.ort))"
        if let p = list.pfad { out += ",\"pfad\":\(path(p))" }
        return out + "}"
    }
}
