/// The children of one element that have one local name, in document order, found as they are
/// iterated. (Made as an array per call, this was the largest single allocation of validation.)
public struct ChildList: Collection, Sendable {
    @usableFromInline let all: [XElement]
    @usableFromInline let name: String
    @usableFromInline let length: Int

    init(_ all: [XElement], _ name: String) {
        self.all = all
        self.name = name
        self.length = name.utf8.count
    }

    public struct Index: Comparable, Sendable {
        @usableFromInline let position: Int
        public static func < (a: Index, b: Index) -> Bool { a.position < b.position }
    }

    @inline(__always) func next(from k: Int) -> Int {
        all.withUnsafeBufferPointer { buf in
            var k = k
            while k < buf.count {
                if buf[k].nameLength == length && buf[k].name == name { return k }
                k += 1
            }
            return buf.count
        }
    }

    /// No children (for `?? .empty` where an element is missing).
    public static let empty = ChildList([], "")

    public var startIndex: Index { Index(position: next(from: 0)) }
    public var endIndex: Index { Index(position: all.count) }
    public func index(after i: Index) -> Index { Index(position: next(from: i.position + 1)) }
    public subscript(i: Index) -> XElement { all[i.position] }
    public var isEmpty: Bool { next(from: 0) == all.count }
    public var first: XElement? {
        let k = next(from: 0)
        return k < all.count ? all[k] : nil
    }
    public var count: Int {
        all.withUnsafeBufferPointer { buf in
            var n = 0
            for i in buf.indices where buf[i].nameLength == length && buf[i].name == name { n += 1 }
            return n
        }
    }

    public struct Iterator: IteratorProtocol {
        let list: ChildList
        var k = 0
        public mutating func next() -> XElement? {
            k = list.next(from: k)
            guard k < list.all.count else { return nil }
            defer { k += 1 }
            return list.all[k]
        }
    }
    public func makeIterator() -> Iterator { Iterator(list: self) }
}

extension Sequence where Element == XElement {
    /// `flatMap` into the children views in one pass each (the generic one counts each view
    /// first to reserve space: a second walk over the children for every element).
    public func flatMap(_ transform: (XElement) throws -> ChildList) rethrows -> [XElement] {
        var out: [XElement] = []
        for e in self { for c in try transform(e) { out.append(c) } }
        return out
    }
}
