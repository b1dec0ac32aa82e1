import Foundation

/// SHA-256 (FIPS 180-4), used to pin every model file Hearth installs or reads.
public enum SHA256 {
    /// Hex digest of a file, read in 1 MiB chunks.
    public static func hex(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = Hasher()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalizeHex()
    }

    /// Hex digest of bytes held in memory.
    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        var hasher = Hasher()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }

    /// Incremental SHA-256: feed bytes with `update`, then call `finalize` once.
    public struct Hasher: Sendable {
        private var state: [UInt32] = [
            0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a,
            0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
        ]
        /// Bytes not yet compressed (fewer than one 64-byte block).
        private var pending: [UInt8] = []
        private var byteCount: UInt64 = 0

        public init() {}

        public mutating func update(_ bytes: some Collection<UInt8>) {
            let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
            if done == nil {
                Array(bytes).withUnsafeBytes { update($0) }
            }
        }

        public mutating func update(_ buffer: UnsafeRawBufferPointer) {
            guard !buffer.isEmpty else { return }
            byteCount &+= UInt64(buffer.count)
            var offset = 0
            if !pending.isEmpty {
                offset = min(64 - pending.count, buffer.count)
                pending.append(contentsOf: buffer[0..<offset])
                guard pending.count == 64 else { return }
                let block = pending
                block.withUnsafeBytes { Self.compress(&state, blocks: $0) }
                pending.removeAll(keepingCapacity: true)
            }
            let wholeBlocksEnd = offset + (buffer.count - offset) / 64 * 64
            if wholeBlocksEnd > offset {
                Self.compress(&state, blocks: UnsafeRawBufferPointer(rebasing: buffer[offset..<wholeBlocksEnd]))
            }
            pending.append(contentsOf: buffer[wholeBlocksEnd...])
        }

        /// The 32-byte digest. Pads the message, so the hasher must not be updated afterwards.
        public mutating func finalize() -> [UInt8] {
            let bitLength = byteCount &* 8
            var padding: [UInt8] = [0x80]
            padding += [UInt8](repeating: 0, count: (119 - pending.count) % 64)
            padding += (0..<8).map { UInt8(truncatingIfNeeded: bitLength >> (56 - 8 * $0)) }
            update(padding)
            return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * $0)) } }
        }

        public mutating func finalizeHex() -> String {
            finalize().map { String(format: "%02x", $0) }.joined()
        }

        private static let roundConstants: [UInt32] = [
            0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
            0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
            0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
            0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
            0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
            0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
            0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
            0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
        ]

        @inline(__always)
        private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

        /// Runs the compression function over `blocks` (a multiple of 64 bytes).
        private static func compress(_ state: inout [UInt32], blocks: UnsafeRawBufferPointer) {
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                roundConstants.withUnsafeBufferPointer { k in
                    var (h0, h1, h2, h3) = (state[0], state[1], state[2], state[3])
                    var (h4, h5, h6, h7) = (state[4], state[5], state[6], state[7])
                    for blockStart in stride(from: 0, to: blocks.count, by: 64) {
                        for t in 0..<16 {
                            w[t] = UInt32(bigEndian: blocks.loadUnaligned(fromByteOffset: blockStart + 4 * t, as: UInt32.self))
                        }
                        for t in 16..<64 {
                            let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                            let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
                        }
                        var (a, b, c, d, e, f, g, h) = (h0, h1, h2, h3, h4, h5, h6, h7)
                        for t in 0..<64 {
                            let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[t] &+ w[t]
                            let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                            (h, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
                        }
                        h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d
                        h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
                    }
                    state = [h0, h1, h2, h3, h4, h5, h6, h7]
                }
            }
        }
    }
}
