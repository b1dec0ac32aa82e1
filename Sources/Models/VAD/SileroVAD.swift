// Silero VAD v6 (https://github.com/snakers4/silero-vad, MIT) on the core, as onnxruntime runs the
// file faster-whisper 1.2.1 ships: speech probability of each 512-sample chunk of 16 kHz audio,
// fed as faster-whisper's `SileroVADModel.__call__` feeds it
// (https://github.com/SYSTRAN/faster-whisper/blob/v1.2.1/faster_whisper/vad.py): each chunk is
// prefixed by the last 64 samples of the chunk before it (zeros for the first), and the LSTM state
// runs on from chunk to chunk over the whole file. Per chunk of 576 samples:
//
//   reflect-pad 128 each side (832) → STFT as a convolution: basis (258, 1, 256), hop 128 → (5, 258)
//   → |re + i·im| of frames 1…4 → (4, 129) → conv k3 s1 (4, 128) → s2 (2, 64) → s2 (1, 64) → s1 (1, 128)
//   (each + ReLU) → LSTM step (128) → ReLU → 1×1 conv → sigmoid → probability.
//
// Activations are time-major (frames, channels), the core's Conv1d layout.

import Foundation
import Tensors
import TransformerCore

/// The Silero VAD network (immutable; each `Stream` holds its own state and work buffers).
public final class SileroVAD: @unchecked Sendable {
    public static let sampleRate = 16_000
    /// New samples per chunk (32 ms).
    public static let chunkSamples = 512
    /// Samples of the previous chunk prefixed to each chunk.
    public static let contextSamples = 64

    let reflectPad: Int
    let stft: Conv1d          // basis (2·bins, 1, window), stride hop
    let bins: Int
    let firstFrame: Int
    let encoder: [Conv1d]
    let lstm: LSTMCell
    let decoderWeight: Tensor // (1, hidden, 1)
    let decoderBias: Float
    /// Frames the STFT gives per chunk, and the encoder's output length after each convolution.
    let stftFrames: Int, frames: Int, encoderLengths: [Int]

    init(reflectPad: Int, basis: Tensor, bins: Int, hop: Int, firstFrame: Int, encoder: [Conv1d], lstm: LSTMCell,
         decoderWeight: Tensor, decoderBias: Float) {
        self.reflectPad = reflectPad; self.bins = bins; self.firstFrame = firstFrame
        stft = Conv1d(weight: basis, bias: nil, stride: hop, padding: 0)
        self.encoder = encoder; self.lstm = lstm; self.decoderWeight = decoderWeight; self.decoderBias = decoderBias
        let padded = Self.chunkSamples + Self.contextSamples + 2 * reflectPad
        stftFrames = padded >= basis.shape[2] ? stft.outputLength(padded) : 0
        frames = stftFrames - firstFrame
        var lengths: [Int] = [], length = frames
        for conv in encoder {
            length = length > 0 && length + 2 * conv.padding >= conv.kernel ? conv.outputLength(length) : 0
            lengths.append(length)
        }
        encoderLengths = lengths
    }

    var hiddenSize: Int { lstm.hiddenSize }

    /// Probabilities of every chunk of `audio` (16 kHz mono), padded with zeros as faster-whisper's
    /// `get_speech_timestamps` pads it: `512 − len % 512` samples (a whole chunk when len is a multiple of 512).
    public func speechProbabilities(_ audio: [Float]) -> [Float] {
        let stream = Stream(self)
        audio.withUnsafeBufferPointer { stream.append($0) }
        stream.finish()
        return stream.probabilities
    }

    /// Runs the network over audio that arrives in pieces of any size.
    public final class Stream {
        public let vad: SileroVAD
        /// One probability per chunk so far.
        public private(set) var probabilities: [Float] = []
        /// Samples appended (before the final padding).
        public private(set) var sampleCount = 0
        private var h: [Float], c: [Float]
        private var context = [Float](repeating: 0, count: SileroVAD.contextSamples)
        private var pending: [Float] = []   // samples of the chunk being filled
        private var finished = false
        private var work: Work

        /// Chunks run through the encoder together before the LSTM steps over them.
        static let block = 64

        public init(_ vad: SileroVAD) {
            self.vad = vad
            h = [Float](repeating: 0, count: vad.hiddenSize); c = h
            work = Work(vad, block: Self.block)
            pending.reserveCapacity(Self.block * SileroVAD.chunkSamples)
        }

        /// Appends samples; whole chunks are run as blocks fill.
        public func append(_ samples: UnsafeBufferPointer<Float>) {
            precondition(!finished, "append after finish")
            sampleCount += samples.count
            var offset = 0
            let blockSamples = Self.block * SileroVAD.chunkSamples
            while offset < samples.count {
                let take = min(samples.count - offset, blockSamples - pending.count)
                pending.append(contentsOf: samples[offset..<(offset + take)])
                offset += take
                if pending.count == blockSamples { runPending() }
            }
        }

        /// Pads the last chunk with zeros (faster-whisper's padding) and runs what is left.
        public func finish() {
            guard !finished else { return }
            finished = true
            let n = SileroVAD.chunkSamples
            pending.append(contentsOf: repeatElement(0, count: n - sampleCount % n))
            runPending()
        }

        private func runPending() {
            let n = SileroVAD.chunkSamples, chunks = pending.count / n
            guard chunks > 0 else { return }
            pending.withUnsafeBufferPointer { audio in
                work.run(vad, audio.baseAddress!, chunks: chunks, context: &context, h: &h, c: &c, into: &probabilities)
            }
            pending.removeFirst(chunks * n)
        }
    }

    /// Work buffers for one block of chunks; every layer runs on the whole block in one product.
    final class Work {
        let block: Int
        let padded, stftOut, magnitude, a, b, columns, outputs, lstmScratch: UnsafeMutablePointer<Float>
        let paddedCount: Int
        private var all: [UnsafeMutablePointer<Float>] = []

        init(_ vad: SileroVAD, block: Int) {
            self.block = block
            func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
                let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
                p.initialize(repeating: 0, count: max(count, 1))
                return p
            }
            paddedCount = SileroVAD.chunkSamples + SileroVAD.contextSamples + 2 * vad.reflectPad
            var widest = 0, columnCount = vad.stftFrames * vad.stft.kernel, length = vad.frames
            for conv in vad.encoder {
                let out = conv.outputLength(length)
                columnCount = max(columnCount, out * conv.inChannels * conv.kernel)
                widest = max(widest, out * conv.outChannels)
                length = out
            }
            padded = buffer(block * paddedCount)                                  // (block, 832, 1)
            stftOut = buffer(block * vad.stftFrames * vad.stft.outChannels)      // (block, 5, 258)
            magnitude = buffer(block * vad.frames * vad.bins)                     // (block, 4, 129)
            a = buffer(block * widest); b = buffer(block * widest)                // (block, frames, channels) ping-pong
            columns = buffer(block * columnCount)
            outputs = buffer(block * vad.hiddenSize)                              // (block, 128)
            lstmScratch = buffer(vad.lstm.scratchCount(steps: block))
            all = [padded, stftOut, magnitude, a, b, columns, outputs, lstmScratch]
        }

        deinit { for p in all { p.deallocate() } }

        /// Runs `chunks` (≤ block) chunks of 512 samples at `audio`: the encoder over all of them,
        /// then the LSTM steps through them in order.
        func run(_ vad: SileroVAD, _ audio: UnsafePointer<Float>, chunks: Int, context: inout [Float],
                 h: inout [Float], c: inout [Float], into probabilities: inout [Float]) {
            precondition(chunks <= block)
            let n = SileroVAD.chunkSamples, ctx = SileroVAD.contextSamples, chunk = n + ctx, pad = vad.reflectPad
            let hidden = vad.hiddenSize, bins = vad.bins, width = vad.stft.outChannels
            for k in 0..<chunks {
                let samples = audio + k * n, row = padded + k * paddedCount
                // (576) = context | chunk, reflect-padded by `pad` each side (numpy / ONNX "reflect": the edge is not repeated)
                let x = row + pad
                for j in 0..<ctx { x[j] = context[j] }
                (x + ctx).update(from: samples, count: n)
                for j in 0..<pad {
                    row[pad - 1 - j] = x[j + 1]
                    x[chunk + j] = x[chunk - 2 - j]
                }
                for j in 0..<ctx { context[j] = samples[n - ctx + j] }
            }
            vad.stft(padded, length: paddedCount, batch: chunks, into: stftOut, columns: columns)
            // (chunks, frames, bins) magnitudes of frames firstFrame…: sqrt(re² + im²)
            for k in 0..<chunks {
                for t in 0..<vad.frames {
                    let src = stftOut + (k * vad.stftFrames + t + vad.firstFrame) * width
                    let dst = magnitude + (k * vad.frames + t) * bins
                    for f in 0..<bins { dst[f] = (src[f] * src[f] + src[bins + f] * src[bins + f]).squareRoot() }
                }
            }
            var length = vad.frames
            var source = UnsafePointer(magnitude), target = a
            for conv in vad.encoder {
                let out = conv.outputLength(length)
                conv(source, length: length, batch: chunks, into: target, columns: columns)
                for j in 0..<(chunks * out * conv.outChannels) { target[j] = max(target[j], 0) }   // ReLU
                source = UnsafePointer(target); target = target == a ? b : a
                length = out
            }
            // the last layer's (chunks, 1, 128) are the LSTM's inputs; it carries its state in and out
            vad.lstm.run(source, steps: chunks, h: &h, c: &c, outputs: outputs, scratch: lstmScratch)
            let w = vad.decoderWeight.data
            for k in 0..<chunks {
                var logit = vad.decoderBias
                for j in 0..<hidden { logit += max(outputs[k * hidden + j], 0) * w[j] }
                probabilities.append(1 / (1 + expf(-logit)))
            }
        }
    }
}
