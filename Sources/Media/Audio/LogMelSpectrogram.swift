/// Whisper's normalized log-mel spectrogram of one waveform, as faster-whisper 1.2.1 computes it in
/// `WhisperModel.transcribe` (https://github.com/SYSTRAN/faster-whisper/blob/v1.2.1/faster_whisper/transcribe.py):
/// `features = FeatureExtractor(n_mels)(audio)` then, per segment,
/// `pad_or_trim(features[:, seek : seek + min(3000, content_frames - seek)])`.
/// The formula is openai/whisper's `log_mel_spectrogram`
/// (https://github.com/openai/whisper/blob/main/whisper/audio.py): log10(max(mel, 1e-10)),
/// floored at (global max − 8), then (x + 4) / 4.
///
/// Frames are computed while the audio streams in and kept in memory up to a limit, beyond which
/// they go to an unlinked temporary file that windows are read back from. Immutable once built, so windows can be read concurrently.
public final class LogMelSpectrogram: @unchecked Sendable {
    public static let sampleRate = AudioDecoder.sampleRate
    /// Samples per frame (10 ms).
    public static let hopLength = LogMelFrameBuilder.hopLength
    /// Frames in one encoder window (30 s).
    public static let windowFrames = 3000
    /// Frames kept in memory before spilling to disk: 5 minutes of audio (~9.6 MB at 80 mels).
    public static let defaultMemoryFrameLimit = 5 * 60 * 100

    public let nMels: Int
    /// 16 kHz samples the spectrogram was computed from.
    public let sampleCount: Int
    private let store: MelFrameStore  // (contentFrames + 1, nMels) log10 mel energies
    private let logFloor: Float  // global max − 8

    /// Decodes `path` (any format `AudioDecoder` reads) and computes its spectrogram in one streaming
    /// pass; `memoryFrameLimit` frames stay in memory, the rest spill to an unlinked, mmap'd temp file.
    public static func load(path: String, nMels: Int = 80, audioStream: Int? = nil,
                            memoryFrameLimit: Int = defaultMemoryFrameLimit) throws -> LogMelSpectrogram {
        let store = MelFrameStore(nMels: nMels, memoryFrameLimit: memoryFrameLimit)
        let builder = LogMelFrameBuilder(nMels: nMels, store: store)
        try AudioDecoder.stream(path: path, audioStream: audioStream) { try builder.append($0) }
        try builder.finish()
        try store.finish()
        return LogMelSpectrogram(store: store, sampleCount: builder.sampleCount)
    }

    /// Spectrogram of `samples`: `(samples,)` mono Float32 at 16 kHz. Frames stay in memory.
    public convenience init(samples: [Float], nMels: Int = 80) {
        let store = MelFrameStore(nMels: nMels, memoryFrameLimit: .max)
        let builder = LogMelFrameBuilder(nMels: nMels, store: store)
        // An in-memory store never touches the file system, so none of these can throw.
        try! samples.withUnsafeBufferPointer { try builder.append($0) }
        try! builder.finish()
        try! store.finish()
        self.init(store: store, sampleCount: builder.sampleCount)
    }

    private init(store: MelFrameStore, sampleCount: Int) {
        self.store = store
        self.nMels = store.nMels
        self.sampleCount = sampleCount
        logFloor = store.maximum - 8
    }

    /// Frames that correspond to real audio: faster-whisper's `content_frames = features.shape[-1] - 1`,
    /// which equals `sampleCount / 160`. (One more frame exists; it only contributes to the global max.)
    public var contentFrames: Int { store.frameCount - 1 }

    public var durationSeconds: Double { Double(sampleCount) / Double(Self.sampleRate) }

    /// True when the frames live in the spill file rather than in memory.
    public var isSpilledToDisk: Bool { store.isSpilled }

    /// Normalized log-mel window, row-major `(nMels, length)`: column j holds frame `startFrame + j`
    /// for j < min(count, length, contentFrames − startFrame), and every other column is 0 —
    /// faster-whisper's `pad_or_trim(features[:, start : start + min(count, content_frames - start)], length)`.
    /// With the defaults this is exactly the encoder input of the segment starting at `startFrame`.
    /// `withFinalFrame`: the frame after the content fills a column too, as in faster-whisper's
    /// `detect_language(features=features[..., seek:])`, which keeps it.
    /// Throws `AudioError` only when the spill file cannot be read back.
    public func window(startFrame: Int, count: Int = windowFrames, paddedTo length: Int = windowFrames,
                       withFinalFrame: Bool = false) throws -> [Float] {
        precondition(startFrame >= 0 && count >= 0 && length >= 0, "window bounds must be non-negative")
        let frames = max(0, min(count, length, contentFrames + (withFinalFrame ? 1 : 0) - startFrame))
        var output = [Float](repeating: 0, count: nMels * length)
        guard frames > 0 else { return output }
        let (nMels, logFloor) = (nMels, logFloor)
        try store.withFrames(startFrame..<(startFrame + frames)) { stored in
            output.withUnsafeMutableBufferPointer { out in
                for frame in 0..<frames {
                    let source = frame * nMels
                    for mel in 0..<nMels {
                        out[mel * length + frame] = (max(stored[source + mel], logFloor) + 4) / 4
                    }
                }
            }
        }
        return output
    }
}
