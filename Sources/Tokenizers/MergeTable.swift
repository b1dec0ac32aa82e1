/// BPE merge ranks over token ids, and the merge loop that applies them to one word.
///
/// The lowest-ranked adjacent pair merges first, leftmost first among equals, as in
/// `Word::merge_all` of https://github.com/huggingface/tokenizers/blob/main/tokenizers/src/models/bpe/word.rs
/// (a priority queue over pair positions), which gives the same result as the rank loop of
/// https://github.com/openai/gpt-2/blob/master/src/encoder.py in O(n log n).
struct MergeTable: Sendable {
    /// Key: left id << 32 | right id. Value: rank << 32 | merged id.
    private var merges: [UInt64: UInt64] = [:]

    /// Adds the pair with the next rank; a pair already present keeps its earlier rank.
    mutating func append(left: Int32, right: Int32, merged: Int32) {
        let rank = UInt64(merges.count)
        let key = Self.key(left, right)
        if merges[key] == nil { merges[key] = rank << 32 | UInt64(UInt32(merged)) }
    }

    /// Merges a word's single-byte ids (at least two) down to its BPE ids.
    func apply(to ids: [Int32]) -> [Int32] {
        let count = ids.count
        var symbols = ids                      // symbol id at each start position; -1 once merged away
        var next = Array(1...count)            // position of the following live symbol (`count`: none)
        var previous = Array(-1..<(count - 1)) // position of the preceding live symbol (-1: none)
        var queue = MinHeap()                  // rank << 32 | position of the pair's left symbol
        for position in 0..<(count - 1) {
            if let rank = lookup(symbols[position], symbols[position + 1])?.rank {
                queue.push(UInt64(rank) << 32 | UInt64(position))
            }
        }
        while let entry = queue.pop() {
            let rank = UInt32(entry >> 32)
            let position = Int(UInt32(truncatingIfNeeded: entry))
            let right = next[position]
            guard symbols[position] >= 0, right < count,
                  let merge = lookup(symbols[position], symbols[right]), merge.rank == rank
            else { continue }  // stale entry: one of the symbols has merged since
            symbols[position] = merge.id
            symbols[right] = -1
            let afterRight = next[right]
            next[position] = afterRight
            if afterRight < count { previous[afterRight] = position }
            let before = previous[position]
            if before >= 0, let rank = lookup(symbols[before], merge.id)?.rank {
                queue.push(UInt64(rank) << 32 | UInt64(before))
            }
            if afterRight < count, let rank = lookup(merge.id, symbols[afterRight])?.rank {
                queue.push(UInt64(rank) << 32 | UInt64(position))
            }
        }
        return symbols.filter { $0 >= 0 }
    }

    private func lookup(_ left: Int32, _ right: Int32) -> (rank: UInt32, id: Int32)? {
        guard let value = merges[Self.key(left, right)] else { return nil }
        return (UInt32(value >> 32), Int32(truncatingIfNeeded: value))
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
    }
}

/// A binary min-heap of packed merge candidates.
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ item: UInt64) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < items.count else { break }
            let right = left + 1
            let smaller = right < items.count && items[right] < items[left] ? right : left
            guard items[smaller] < items[parent] else { break }
            items.swapAt(parent, smaller)
            parent = smaller
        }
        return top
    }
}
