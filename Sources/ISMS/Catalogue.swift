import Foundation

/// A check catalogue on the way to basic protection: topics with requirements. Versioned: a new
/// version replaces the old one for every tenant, answers survive where the requirement id does.
public struct Catalogue: Codable, Sendable, Equatable {
    public var id: String
    public var version: Int
    public var title: String
    /// Where the structure comes from, shown with the catalogue.
    public var source: String
    public var topics: [Topic]

    public init(id: String, version: Int, title: String, source: String, topics: [Topic]) {
        self.id = id; self.version = version; self.title = title; self.source = source; self.topics = topics
    }

    public var requirements: [Requirement] { topics.flatMap(\.requirements) }

    public func requirement(_ id: String) -> Requirement? { requirements.first { $0.id == id } }

    public func topic(of requirementID: String) -> Topic? { topics.first { $0.requirements.contains { $0.id == requirementID } } }
}

public struct Topic: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    public var requirements: [Requirement]
    public init(id: String, title: String, requirements: [Requirement]) { self.id = id; self.title = title; self.requirements = requirements }
}

public enum Level: String, Codable, Sendable, CaseIterable {
    /// must be met for basic protection; an open one counts as a critical gap
    case basic = "basis"
    case standard = "standard"

    public var german: String { self == .basic ? "Basis" : "Standard" }
    public var english: String { self == .basic ? "basic" : "standard" }
}

public struct Requirement: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    public var text: String
    public var level: Level
    public var hints: String
    /// What the tenant keeps as proof (a document, a protocol, a screenshot …).
    public var evidence: String

    public init(id: String, title: String, text: String, level: Level, hints: String = "", evidence: String = "") {
        self.id = id; self.title = title; self.text = text; self.level = level; self.hints = hints; self.evidence = evidence
    }

    /// Content that counts as a change for tenants (id aside).
    func sameContent(_ other: Requirement) -> Bool {
        title == other.title && text == other.text && level == other.level && hints == other.hints && evidence == other.evidence
    }
}

/// What a new catalogue version changes for a tenant.
public struct CatalogueDiff: Sendable, Equatable {
    public var added: [String]
    public var changed: [String]
    public var removed: [String]

    public init(from old: Catalogue?, to new: Catalogue) {
        let before = Dictionary((old?.requirements ?? []).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let after = new.requirements
        added = after.filter { before[$0.id] == nil }.map(\.id)
        changed = after.filter { r in before[r.id].map { !$0.sameContent(r) } ?? false }.map(\.id)
        let ids = Set(after.map(\.id))
        removed = (old?.requirements ?? []).filter { !ids.contains($0.id) }.map(\.id)
    }

    public var isEmpty: Bool { added.isEmpty && changed.isEmpty && removed.isEmpty }
}
