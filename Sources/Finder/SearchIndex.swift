/// A document the search knows: a service (or anything with a title) and words that also find it.
public struct SearchDocument: Sendable {
    public let id: Int
    public let title: String
    /// Synonyms, related names (OZG service, Lebenslage): they find the document with lower weight.
    public let extra: [String]
    /// Ranking boost, e.g. for the common municipal services (0 = none, 1 = strong).
    public let boost: Double

    public init(id: Int, title: String, extra: [String] = [], boost: Double = 0) {
        self.id = id; self.title = title; self.extra = extra; self.boost = boost
    }
}

public struct SearchHit: Sendable, Equatable {
    public let id: Int
    public let score: Double
}

/// In-memory German free-text search over a few thousand documents: exact and prefix matches,
/// compounds in both directions (`Hundesteuer` ↔ `Hund`, `Steuer`), light stemming
/// (`anmelden` ↔ `Anmeldung`), synonyms, and one typo in words of five or more letters.
/// Built once, then read-only and safe to share between threads.
public final class SearchIndex: Sendable {
    struct Posting: Sendable { let doc: Int32; let weight: Float }

    private let vocab: [String]                 // sorted, stemmed tokens
    private let vocabBytes: [[UInt8]]
    private let vocabIndex: [String: Int32]
    private let postings: [[Posting]]
    private let deletions: [String: [Int32]]    // single-deletion variants → tokens (typo lookup)
    private let synonyms: [String: [String]]    // normalised word → replacement words
    private let docBoost: [Int: Double]
    private let docLength: [Int: Int]

    /// - Parameter synonyms: pairs like `("Perso", "Personalausweis")`, `("Ummeldung", "Wohnsitz Anmeldung")`.
    public init(documents: [SearchDocument], synonyms: [(String, String)] = []) {
        var tokenPostings: [String: [Int32: Float]] = [:]
        var boost: [Int: Double] = [:]
        var length: [Int: Int] = [:]
        for d in documents {
            boost[d.id] = d.boost
            let titleTokens = GermanText.tokens(d.title)
            length[d.id] = titleTokens.count
            for t in titleTokens { Self.add(&tokenPostings, GermanText.stem(t), Int32(d.id), 1.0) }
            for e in d.extra {
                for t in GermanText.tokens(e) { Self.add(&tokenPostings, GermanText.stem(t), Int32(d.id), 0.7) }
            }
        }
        let sorted = tokenPostings.keys.sorted()
        vocab = sorted
        vocabBytes = sorted.map { Array($0.utf8) }
        var index: [String: Int32] = [:]
        var lists: [[Posting]] = []
        var dels: [String: [Int32]] = [:]
        for (i, t) in sorted.enumerated() {
            index[t] = Int32(i)
            lists.append(tokenPostings[t]!.map { Posting(doc: $0.key, weight: $0.value) }.sorted { $0.doc < $1.doc })
            if t.count >= 4 {
                for v in Self.deletionVariants(t) { dels[v, default: []].append(Int32(i)) }
            }
        }
        vocabIndex = index
        postings = lists
        deletions = dels
        var syn: [String: [String]] = [:]
        for (from, to) in synonyms {
            let key = GermanText.tokens(from).joined(separator: " ")
            syn[key] = GermanText.tokens(to)
        }
        self.synonyms = syn
        docBoost = boost
        docLength = length
    }

    private static func add(_ p: inout [String: [Int32: Float]], _ token: String, _ doc: Int32, _ w: Float) {
        guard !token.isEmpty else { return }
        let old = p[token]?[doc] ?? 0
        if w > old { p[token, default: [:]][doc] = w }
    }

    static func deletionVariants(_ t: String) -> [String] {
        let b = Array(t.utf8)
        return (0..<b.count).map { i in String(decoding: b[0..<i] + b[(i + 1)...], as: UTF8.self) }
    }

    /// Query words after synonym replacement (one- and two-word synonyms), stemmed.
    public func queryTerms(_ query: String) -> [String] {
        let words = GermanText.tokens(query)
        var out: [String] = []
        var i = 0
        while i < words.count {
            if i + 1 < words.count, let rep = synonyms[words[i] + " " + words[i + 1]] {
                out += rep; i += 2; continue
            }
            if let rep = synonyms[words[i]] { out += rep } else { out.append(words[i]) }
            i += 1
        }
        // the last word may be still being typed ("Wohnsitz an…"): keep it even if it is a stopword
        let typing = !(query.last?.isWhitespace ?? true)
        return out.enumerated().compactMap { i, w in
            let stemmed = GermanText.stem(w)
            if stemmed.isEmpty { return nil }
            if Self.stopwords.contains(stemmed) && !(typing && i == out.count - 1 && out.count > 1) { return nil }
            return stemmed
        }
    }

    static let stopwords: Set<String> = ["und", "oder", "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen",
                                         "fuer", "von", "vom", "zum", "zur", "mit", "bei", "ich", "mein", "meine",
                                         "meinen", "wie", "wo", "was", "beantragen", "beantrag", "antrag", "in", "im", "am", "an"]

    /// Candidate vocabulary entries for one query term with their match quality (0…1).
    func matches(_ term: String) -> [(Int32, Float)] {
        var found: [Int32: Float] = [:]
        func note(_ i: Int32, _ s: Float) { if s > (found[i] ?? 0) { found[i] = s } }
        if let i = vocabIndex[term] { note(i, 1.0) }
        // prefix: what people type so far, and compounds that start with the term (Hund → Hundesteuer)
        if term.count >= 2 {
            var lo = lowerBound(term)
            while lo < vocab.count, vocab[lo].hasPrefix(term) {
                note(Int32(lo), term.count >= 4 ? 0.8 : 0.6)
                lo += 1
            }
        }
        let bytes = Array(term.utf8)
        if bytes.count >= 4 {
            // compounds that end with the term (Steuer → Hundesteuer)
            // and parts of the term that are words themselves (Hundesteuer → Hund, Steuer; anmeld → meld)
            for k in 4..<max(bytes.count, 4) {
                let head = String(decoding: bytes[0..<k], as: UTF8.self)
                let tail = String(decoding: bytes[(bytes.count - k)...], as: UTF8.self)
                if let i = vocabIndex[head] { note(i, 0.55) }
                if let i = vocabIndex[GermanText.stem(head)] { note(i, 0.5) }
                if let i = vocabIndex[tail] { note(i, 0.55) }
            }
        }
        // one typo in words of five or more letters
        if bytes.count >= 5 {
            var cands: Set<Int32> = []
            if let l = deletions[term] { cands.formUnion(l) }
            for v in Self.deletionVariants(term) {
                if let i = vocabIndex[v] { cands.insert(i) }
                if let l = deletions[v] { cands.formUnion(l) }
            }
            for c in cands where GermanText.withinOneEdit(vocabBytes[Int(c)], bytes) { note(c, 0.7) }
        }
        return found.map { ($0.key, $0.value) }
    }

    private func lowerBound(_ s: String) -> Int {
        var lo = 0, hi = vocab.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if vocab[mid] < s { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Ranked hits. Every query term must match (AND); if nothing matches all terms, the best
    /// partial matches are returned, ranked lower.
    public func search(_ query: String, limit: Int = 20) -> [SearchHit] {
        let terms = queryTerms(query)
        guard !terms.isEmpty else { return [] }
        var perDoc: [Int32: (sum: Float, matched: Int)] = [:]
        for term in terms {
            var best: [Int32: Float] = [:]
            for (v, quality) in matches(term) {
                for p in postings[Int(v)] {
                    let s = quality * p.weight
                    if s > (best[p.doc] ?? 0) { best[p.doc] = s }
                }
            }
            for (doc, s) in best {
                let cur = perDoc[doc] ?? (0, 0)
                perDoc[doc] = (cur.sum + s, cur.matched + 1)
            }
        }
        let full = perDoc.filter { $0.value.matched == terms.count }
        let pool = full.isEmpty ? perDoc : full
        let penalty: Double = full.isEmpty ? 0.5 : 1.0
        var hits = pool.map { (doc, v) -> SearchHit in
            let id = Int(doc)
            let len = Double(docLength[id] ?? 1)
            let score = (Double(v.sum) / Double(terms.count)) * penalty * (1 + (docBoost[id] ?? 0)) + 0.05 / len
            return SearchHit(id: id, score: score)
        }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return Array(hits.prefix(limit))
    }
}
