import Foundation

/// A document the search knows: a service (or anything with a title) and words that also find it.
public struct SearchDocument: Sendable {
    public let id: Int
    public let title: String
    /// Everyday words people use for this document ("Knöllchen", "Tische vor dem Café"): nearly as strong as the title.
    public let keywords: [String]
    /// Related names (OZG service, Lebenslage): they find the document with lower weight.
    public let extra: [String]
    /// Ranking boost, e.g. for the common municipal services (0 = none, 1 = strong). A tie-breaker,
    /// never stronger than a word that matches.
    public let boost: Double

    public init(id: Int, title: String, keywords: [String] = [], extra: [String] = [], boost: Double = 0) {
        self.id = id; self.title = title; self.keywords = keywords; self.extra = extra; self.boost = boost
    }
}

public struct SearchHit: Sendable, Equatable {
    public let id: Int
    public let score: Double
}

/// In-memory German free-text search over a few thousand documents.
///
/// Each query word is matched against the vocabulary exactly, as a prefix (what people type so far,
/// and compounds that start with it: `Hund` → `Hundesteuer`), as the end of a compound
/// (`Parkausweis` → `Bewohnerparkausweis`), split into its parts when it is a compound the catalogue
/// does not know (`Grundsteuerbescheid` → `Grundsteuer` + `Bescheid`), and with one typo. Words are
/// weighted by how much they discriminate (inverse document frequency of what they match), so a
/// generic verb like `anmelden` counts far less than the subject `Hund`. Synonyms and colloquial
/// words are data (``LeikaCatalogue/synonyms``). Built once, then read-only and safe to share.
public final class SearchIndex: Sendable {
    struct Posting: Sendable { let doc: Int32; let weight: Float }

    private let vocab: [String]                 // sorted, stemmed tokens
    private let vocabBytes: [[UInt8]]
    private let vocabIndex: [String: Int32]
    private let reversed: [(String, Int32)]     // reversed tokens, sorted: compounds that end with a word
    private let postings: [[Posting]]
    private let deletions: [String: [Int32]]    // single-deletion variants → tokens (typo lookup)
    private let synonyms: [String: [String]]    // normalised phrase (1–4 words) → replacement words
    private let synonymWords: [(String, [UInt8])] // one-word synonym keys of eight letters or more (typo lookup)
    private let docBoost: [Int32: Double]
    private let docLength: [Int32: Int]
    private let documentCount: Int

    /// - Parameter synonyms: pairs like `("Perso", "Personalausweis")`, `("Ummeldung", "Wohnsitz Anmeldung")`.
    public init(documents: [SearchDocument], synonyms: [(String, String)] = []) {
        var tokenPostings: [String: [Int32: Float]] = [:]
        var boost: [Int32: Double] = [:]
        var length: [Int32: Int] = [:]
        for d in documents {
            let id = Int32(d.id)
            boost[id] = d.boost
            let titleTokens = GermanText.tokens(d.title).filter { !Self.stopwords.contains($0) }
            length[id] = titleTokens.count
            // stem and full word: the stem finds inflections, the full word lets a typo find the
            // word as it is written (Meldebescheinigng → Meldebescheinigung)
            func index(_ t: String, _ w: Float) {
                Self.add(&tokenPostings, GermanText.stem(t), id, w)
                Self.add(&tokenPostings, t, id, w)
            }
            for t in titleTokens { index(t, 1.0) }
            for k in d.keywords {
                for t in GermanText.tokens(k) where !Self.stopwords.contains(t) { index(t, 0.9) }
            }
            for e in d.extra {
                for t in GermanText.tokens(e) where !Self.stopwords.contains(t) { index(t, 0.6) }
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
            lists.append((tokenPostings[t] ?? [:]).map { Posting(doc: $0.key, weight: $0.value) }.sorted { $0.doc < $1.doc })
            if t.count >= 4 {
                for v in Self.deletionVariants(t) { dels[v, default: []].append(Int32(i)) }
            }
        }
        vocabIndex = index
        reversed = sorted.enumerated().map { (String($0.element.reversed()), Int32($0.offset)) }.sorted { $0.0 < $1.0 }
        postings = lists
        deletions = dels
        var syn: [String: [String]] = [:]
        for (from, to) in synonyms {
            let key = GermanText.tokens(from).joined(separator: " ")
            guard !key.isEmpty else { continue }
            syn[key] = GermanText.tokens(to)
        }
        self.synonyms = syn
        synonymWords = syn.keys.filter { !$0.contains(" ") && $0.count >= 8 }.sorted().map { ($0, Array($0.utf8)) }
        docBoost = boost
        docLength = length
        documentCount = max(documents.count, 1)
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

    /// Query words after synonym replacement (phrases of up to four words, longest first), stemmed,
    /// without stopwords.
    public func queryTerms(_ query: String) -> [String] {
        let words = GermanText.tokens(query).map { w in
            // a long word with a typo that is a synonym (Gewerbeanmeldng) is read as that synonym
            guard w.count >= 8, synonyms[w] == nil, vocabIndex[w] == nil, vocabIndex[GermanText.stem(w)] == nil else { return w }
            let b = Array(w.utf8)
            return synonymWords.first { GermanText.withinOneEdit($0.1, b) }?.0 ?? w
        }
        var out: [String] = []
        var i = 0
        outer: while i < words.count {
            for n in stride(from: min(4, words.count - i), through: 1, by: -1) {
                if let rep = synonyms[words[i..<(i + n)].joined(separator: " ")] {
                    out += rep; i += n; continue outer
                }
            }
            out.append(words[i])
            i += 1
        }
        // a short last word may be still being typed ("Wohnsitz an…"): keep it even if it is a stopword
        let typing = !(query.last?.isWhitespace ?? true) && (out.last?.count ?? 0) <= 3
        var seen = Set<String>()
        return out.enumerated().compactMap { i, w in
            if Self.stopwords.contains(w) && !(typing && i == out.count - 1 && out.count > 1) { return nil }
            let stemmed = GermanText.stem(w)
            if stemmed.isEmpty || !seen.insert(stemmed).inserted { return nil }
            return stemmed
        }
    }

    /// Words that carry no subject. Generic verbs ("anmelden") are not here: they do discriminate a
    /// little, and the weighting makes them weak by itself.
    static let stopwords: Set<String> = [
        "und", "oder", "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines",
        "fuer", "von", "vom", "zum", "zur", "mit", "bei", "ich", "mein", "meine", "meinen", "meinem", "meiner", "mich", "mir",
        "wie", "wo", "was", "wer", "wann", "beantragen", "beantrag", "antrag", "in", "im", "am", "an", "auf", "aus", "vor", "nach",
        "zu", "ist", "bin", "sind", "hat", "habe", "haben", "will", "moechte", "kann", "muss", "brauche", "benoetige", "bitte",
        "neu", "neue", "neuen", "neuer", "neues", "es", "sich", "jemand", "jemandem", "jemanden", "etwas", "online", "ueber",
        "als", "bis", "um", "wir", "unser", "unsere", "unseren", "dein", "ihr", "ihre", "sie", "er", "man",
        // request verbs say that something is wanted, not what ("Sterbeurkunde anfordern" must not
        // find "Anforderungen des Tierschutzgesetzes")
        "anfordern", "bestellen", "bekommen", "erhalten", "kriegen", "machen", "lassen", "stellen", "einreichen",
        "ins", "beim", "durch", "gegen", "ohne", "sowie", "nicht", "bzw", "so", "noch", "schon", "auch", "nur",
    ]

    /// Candidate vocabulary entries for one query term with their match quality (0…1).
    func matches(_ term: String, typing: Bool = false) -> [Int32: Float] {
        var found: [Int32: Float] = [:]
        func note(_ i: Int32, _ s: Float) { if s > (found[i] ?? 0) { found[i] = s } }
        let bytes = Array(term.utf8)
        if let i = vocabIndex[term] { note(i, 1.0) }
        // prefix: what people type so far, and compounds that start with the term (Hund → Hundesteuer)
        if term.count >= 3 {
            var lo = lowerBound(term)
            while lo < vocab.count, vocab[lo].hasPrefix(term) {
                // the more of the word is typed, the surer the match (Personalaus → Personalausweis
                // strong, Fest → Festsetzung weak)
                if vocab[lo] != term {
                    note(Int32(lo), typing ? 0.9 : term.count >= 4 ? Float(0.5 + 0.4 * Double(term.count) / Double(vocab[lo].count)) : 0.45)
                }
                lo += 1
            }
        } else if term.count == 2, found.isEmpty {
            var lo = lowerBound(term)
            while lo < vocab.count, vocab[lo].hasPrefix(term) { note(Int32(lo), typing ? 0.9 : 0.3); lo += 1 }
        }
        // compounds that end with the term (Parkausweis → Bewohnerparkausweis)
        if bytes.count >= 5 {
            let r = String(term.reversed())
            var lo = reversedLowerBound(r)
            while lo < reversed.count, reversed[lo].0.hasPrefix(r) {
                if reversed[lo].0 != r { note(reversed[lo].1, 0.75) }
                lo += 1
            }
        }
        // one typo: in words of five or more letters any slip, in four-letter words a changed or
        // swapped letter (Hunt → Hund), weaker
        if bytes.count >= 4 {
            var cands: Set<Int32> = []
            if let l = deletions[term] { cands.formUnion(l) }
            for v in Self.deletionVariants(term) {
                if let i = vocabIndex[v] { cands.insert(i) }
                if let l = deletions[v] { cands.formUnion(l) }
            }
            for c in cands where vocabBytes[Int(c)] != bytes && GermanText.withinOneEdit(vocabBytes[Int(c)], bytes) {
                if bytes.count >= 5 { note(c, 0.7) } else if vocabBytes[Int(c)].count == 4 { note(c, 0.55) }
            }
        }
        return found
    }

    /// Splits a compound the vocabulary does not know into two known parts, preferring the most
    /// even split; a Fugen-s/-es/-n/-en/-e between them is allowed (`Grundsteuerbescheid`,
    /// `Führungszeugnisantrag`). One-word synonyms count as parts (`Anwohnerparkausweis`).
    func decompose(_ term: String) -> [String]? {
        let chars = Array(term)
        guard chars.count >= 8 else { return nil }
        func known(_ s: String) -> [String]? {
            if vocabIndex[s] != nil { return [s] }
            let st = GermanText.stem(s)
            if vocabIndex[st] != nil { return [st] }
            if let rep = synonyms[s] { return rep.map(GermanText.stem) }
            return nil
        }
        var best: ([String], Int)? = nil
        for i in 4...(chars.count - 4) {
            let tail = String(chars[i...])
            guard let tailParts = known(tail) ?? (tail.count >= 5 && lowerBound(tail) < vocab.count && vocab[lowerBound(tail)].hasPrefix(tail) ? [tail] : nil) else { continue }
            let head = String(chars[..<i])
            var headParts: [String]? = known(head)
            if headParts == nil {
                for fuge in ["s", "es", "n", "en", "e"] where head.hasSuffix(fuge) && head.count - fuge.count >= 3 {
                    if let p = known(String(head.dropLast(fuge.count))) { headParts = p; break }
                }
            }
            guard let headParts else { continue }
            let balance = min(head.count, tail.count)
            if best == nil || balance > best!.1 { best = (headParts + tailParts, balance) }
        }
        if let best { return best.0 }
        // no split into two known words: the longest known start or end of five letters or more
        // (Sperrmülltermin → Sperrmüll)
        for k in stride(from: chars.count - 1, through: 5, by: -1) {
            if let p = known(String(chars[..<k])) { return p }
            if let p = known(String(chars[(chars.count - k)...])) { return p }
        }
        return nil
    }

    private func lowerBound(_ s: String) -> Int {
        var lo = 0, hi = vocab.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if vocab[mid] < s { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func reversedLowerBound(_ s: String) -> Int {
        var lo = 0, hi = reversed.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if reversed[mid].0 < s { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Per document the best match quality × field weight of one term.
    private func scores(_ term: String, typing: Bool = false) -> [Int32: Float] {
        var best: [Int32: Float] = [:]
        for (v, quality) in matches(term, typing: typing) {
            for p in postings[Int(v)] {
                let s = quality * p.weight
                if s > (best[p.doc] ?? 0) { best[p.doc] = s }
            }
        }
        return best
    }

    /// Ranked hits. A document's score is the sum of its matched terms, each weighted by how rare
    /// what it matches is, divided by the weight of all terms: documents matching every word rank
    /// first, and among partial matches the one that matches the subject wins over the one that
    /// matches the verb.
    public func search(_ query: String, limit: Int = 20) -> [SearchHit] {
        let terms = queryTerms(query)
        guard !terms.isEmpty else { return [] }
        var perTerm: [[Int32: Float]] = []
        // the last word, when short and not followed by a space, is still being typed ("Wohnsitz an")
        let typingLast = !(query.last?.isWhitespace ?? true) && (terms.last?.count ?? 0) <= 3 && terms.count > 1
        for (n, term) in terms.enumerated() {
            var s = scores(term, typing: typingLast && n == terms.count - 1)
            // an unknown compound: its parts, each a little weaker, both needed for full weight
            if vocabIndex[term] == nil, !(s.values.contains { $0 >= 0.7 }), let parts = decompose(term) {
                var combined: [Int32: Float] = [:]
                let partScores = parts.map { scores($0) }
                let weights = partScores.map { idf(Double($0.count)) }
                let total = weights.reduce(0, +)
                for (ps, w) in zip(partScores, weights) {
                    for (doc, v) in ps { combined[doc, default: 0] += v * 0.9 * Float(w / max(total, 1e-9)) }
                }
                for (doc, v) in combined where v > (s[doc] ?? 0) { s[doc] = v }
            }
            perTerm.append(s)
        }
        // a word weighs by how rare what it matches is, times how surely it matches: a verb the
        // catalogue does not know ("anfordern") that only touches a rare word by prefix
        // ("Anforderungen") must not outweigh the subject that matches exactly
        let weights = perTerm.map { s -> Double in
            guard let best = s.values.max() else { return idf(1) }
            let q = Double(min(1, best / 0.9))
            return idf(Double(s.count)) * q * q
        }
        let totalWeight = weights.reduce(0, +)
        var perDoc: [Int32: Double] = [:]
        for (s, w) in zip(perTerm, weights) {
            for (doc, v) in s { perDoc[doc, default: 0] += Double(v) * w }
        }
        var hits = perDoc.map { doc, sum -> SearchHit in
            let len = Double(docLength[doc] ?? 1)
            let score = sum / totalWeight * (1 + 0.12 * (docBoost[doc] ?? 0)) + 0.01 / max(len, 1)
            return SearchHit(id: Int(doc), score: score)
        }
        // weak partial matches (a typo of a generic word alone) are noise, not answers
        let top = hits.map(\.score).max() ?? 0
        hits.removeAll { $0.score < top * 0.25 }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return Array(hits.prefix(limit))
    }

    private func idf(_ df: Double) -> Double {
        log(1 + Double(documentCount) / max(df, 1))
    }
}
