import CHearthDeps
import Foundation

/// Decodes audio files with libsndfile (WAV, FLAC, OGG/Vorbis, Opus, MP3 and the other formats
/// the system libsndfile reads) and, for everything else, with FFmpeg (`ContainerAudio`: M4A/AAC,
/// MP4/MOV/MKV/WebM soundtracks, WMA, AMR, AC-3, …); mixes channels down to mono and resamples to
/// 16 kHz with libsoxr.
///
/// Mirrors what faster-whisper's `decode_audio` produces (mono float32 at 16 kHz), except that
/// resampling is soxr's band-limited HQ filter instead of FFmpeg's; 16 kHz sources pass through
/// unchanged, so 16-bit 16 kHz WAV decodes bit-identically (int16 / 32768).
public struct AudioDecoder {
    public static let sampleRate = 16000

    /// Frames read from the file per libsndfile call; bounds the decoder's memory.
    static let chunkFrames = 65536
    /// Interleaved samples per read at most (1024 channels would otherwise take 256 MB per chunk).
    static let chunkSamples = 1 << 20
    /// Sample rates accepted: a header outside this range lies (0 Hz, 1 Hz, 4 GHz), and resampling
    /// from it would take unbounded time or memory.
    public static let sampleRates: ClosedRange<Int32> = 1000...768_000

    /// Decodes a whole file into memory. `(samples,)` mono Float32 at 16 kHz.
    /// Meant for short clips and tests; use `stream` or `LogMelSpectrogram.load` for long audio.
    public static func decodeMono16k(path: String, audioStream: Int? = nil) throws -> [Float] {
        var samples: [Float] = []
        try stream(path: path, audioStream: audioStream) { samples.append(contentsOf: $0) }
        return samples
    }

    /// Streams a file as consecutive chunks of mono 16 kHz Float32 samples, reading at most
    /// `chunkFrames` frames at a time. Throws `AudioError` for missing, unreadable, empty,
    /// malformed or truncated files. `audioStream` picks a container's n-th audio stream (from 0;
    /// default the first); files libsndfile reads have just one.
    public static func stream(path: String, audioStream: Int? = nil, _ sink: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        try checkIsRegularNonEmptyFile(path)
        if let audioStream, audioStream > 0 {
            return try streamContainer(path: path, audioStream: audioStream, sndfileReason: nil, sink)
        }

        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            let reason = String(cString: sf_strerror(nil))
            if let lie = RIFFDataChunk.implausibleFormat(path: path) { throw AudioError(path: path, message: "invalid header: \(lie)") }
            return try streamContainer(path: path, audioStream: nil, sndfileReason: reason, sink)
        }
        defer { sf_close(file) }

        if info.format & Int32(SF_FORMAT_TYPEMASK) == Int32(SF_FORMAT_WAV), let shortfall = RIFFDataChunk.shortfall(path: path) {
            // libsndfile silently shortens a WAV whose data chunk runs past the end of the file.
            throw AudioError(path: path, message: "truncated: the data chunk declares \(shortfall.declared) bytes, only \(shortfall.present) are present")
        }
        let channels = Int(info.channels)
        guard channels > 0, info.samplerate > 0 else {
            throw AudioError(path: path, message: "invalid header: \(channels) channels at \(info.samplerate) Hz")
        }
        guard sampleRates.contains(info.samplerate) else {
            throw AudioError(path: path, message: "invalid header: sample rate \(info.samplerate) Hz is outside "
                             + "\(sampleRates.lowerBound)–\(sampleRates.upperBound) Hz")
        }
        let chunkFrames = min(Self.chunkFrames, max(1, Self.chunkSamples / channels))
        let resampler = try makeResampler(path: path, from: Int(info.samplerate))

        var interleaved = [Float](repeating: 0, count: chunkFrames * channels)  // (chunkFrames, channels)
        var mono = [Float](repeating: 0, count: chunkFrames)  // (chunkFrames,)
        var framesRead: Int64 = 0
        while true {
            let count = Int(interleaved.withUnsafeMutableBufferPointer {
                sf_readf_float(file, $0.baseAddress, sf_count_t(chunkFrames))
            })
            if count <= 0 { break }
            framesRead += Int64(count)
            mixDown(interleaved, channels: channels, frames: count, into: &mono)
            try mono.withUnsafeBufferPointer { chunk in
                try emit(UnsafeBufferPointer(rebasing: chunk[..<count]), path: path, through: resampler, sink)
            }
        }
        if sf_error(file) != 0 {
            throw AudioError(path: path, message: "decoding failed after \(framesRead) frames; truncated or corrupt? (libsndfile: \(String(cString: sf_strerror(file))))")
        }
        if framesRead == 0 {
            throw AudioError(path: path, message: "contains no audio frames")
        }
        // Int64.max (SF_COUNT_MAX) means "length unknown"; MP3 counts are estimates unless a
        // Xing/LAME header is present. Other formats' header counts are exact.
        let headerCountIsExact = info.frames != Int64.max
            && info.format & Int32(SF_FORMAT_TYPEMASK) != Int32(SF_FORMAT_MPEG)
        if headerCountIsExact, framesRead < info.frames {
            throw AudioError(path: path, message: "truncated: header declares \(info.frames) frames, only \(framesRead) could be read")
        }
        if let resampler {
            try resamplerStep(path) { try resampler.flush(sink) }
        }
    }

    /// What libsndfile cannot open goes to FFmpeg (`ContainerAudio`): M4A/AAC, MP4/MOV/MKV/WebM
    /// soundtracks, WMA, AMR, AC-3 and the rest of what its whitelisted demuxers read.
    private static func streamContainer(path: String, audioStream: Int?, sndfileReason: String?,
                                        _ sink: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        var resampler: SoxrResampler?
        var opened = false
        do {
            try ContainerAudio.stream(path: path, stream: audioStream) { info, chunk in
                if !opened { resampler = try makeResampler(path: path, from: info.sampleRate); opened = true }
                try emit(chunk, path: path, through: resampler, sink)
            }
        } catch let error as AudioError where !opened && sndfileReason != nil && error.message.hasPrefix(ContainerAudio.notAContainer) {
            // "… container (FFmpeg: why)" → "not a readable audio file (libsndfile: why; FFmpeg: why)"
            let ffmpeg = error.message.dropFirst(ContainerAudio.notAContainer.count).drop { $0 == " " || $0 == "(" }
            throw AudioError(path: path, message: "not a readable audio file (libsndfile: \(sndfileReason!); \(ffmpeg)")
        }
        if !opened { throw AudioError(path: path, message: "contains no audio frames") }
        if let resampler {
            try resamplerStep(path) { try resampler.flush(sink) }
        }
    }

    /// nil when `rate` is already 16 kHz.
    private static func makeResampler(path: String, from rate: Int) throws -> SoxrResampler? {
        if rate == sampleRate { return nil }
        do {
            return try SoxrResampler(inputRate: Double(rate), outputRate: Double(sampleRate))
        } catch {
            throw AudioError(path: path, message: "cannot resample from \(rate) Hz: \(error.message)")
        }
    }

    private static func emit(_ frames: UnsafeBufferPointer<Float>, path: String, through resampler: SoxrResampler?,
                             _ sink: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        if let resampler {
            try resamplerStep(path) { try resampler.process(frames, sink) }
        } else {
            try sink(frames)
        }
    }

    /// Averages the channels of each interleaved frame (what FFmpeg's stereo → mono downmix does).
    private static func mixDown(_ interleaved: [Float], channels: Int, frames: Int, into mono: inout [Float]) {
        if channels == 1 {
            mono.withUnsafeMutableBufferPointer { out in
                interleaved.withUnsafeBufferPointer { out.baseAddress!.update(from: $0.baseAddress!, count: frames) }
            }
            return
        }
        let scale = 1 / Float(channels)
        for frame in 0..<frames {
            var sum: Float = 0
            for channel in 0..<channels { sum += interleaved[frame * channels + channel] }
            mono[frame] = sum * scale
        }
    }

    private static func resamplerStep(_ path: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as SoxrError {
            throw AudioError(path: path, message: "resampling failed (libsoxr: \(error.message))")
        }
    }

    private static func checkIsRegularNonEmptyFile(_ path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw AudioError(path: path, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        switch status.st_mode & S_IFMT {
        case S_IFDIR: throw AudioError(path: path, message: "is a directory, not an audio file")
        case S_IFREG: break
        default: throw AudioError(path: path, message: "is not a regular file")
        }
        if status.st_size == 0 { throw AudioError(path: path, message: "file is empty (0 bytes)") }
    }
}

/// The `data` chunk of a RIFF/WAVE file, to tell a cut-off file from a complete one.
enum RIFFDataChunk {
    /// Declared and present byte counts of the `data` chunk when fewer bytes are present than
    /// declared; nil when complete, when the size is a streaming placeholder (0 or 0xFFFFFFFF),
    /// or when no `data` chunk header lies within the first 64 KiB.
    /// What is implausible in a WAV `fmt ` chunk (0 or thousands of channels, a sample rate outside
    /// `AudioDecoder.sampleRates`), in words; nil when it looks sane or the file is not RIFF/WAVE.
    static func implausibleFormat(path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 65536) else { return nil }
        let bytes = [UInt8](header)
        func fourCC(_ offset: Int) -> String { String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self) }
        func uint(_ offset: Int, _ width: Int) -> UInt64 {
            (0..<width).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
        }
        guard bytes.count >= 12, fourCC(0) == "RIFF", fourCC(8) == "WAVE" else { return nil }
        var offset = 12
        while offset + 8 <= bytes.count {
            let size = uint(offset + 4, 4)
            if fourCC(offset) == "fmt ", offset + 16 <= bytes.count {
                let channels = uint(offset + 10, 2), rate = uint(offset + 12, 4)
                if channels == 0 || channels > 1024 { return "the format chunk declares \(channels) channels" }
                let rates = AudioDecoder.sampleRates
                if rate < UInt64(rates.lowerBound) || rate > UInt64(rates.upperBound) {
                    return "the format chunk declares a sample rate of \(rate) Hz (supported: \(rates.lowerBound)–\(rates.upperBound) Hz)"
                }
                return nil
            }
            guard size < UInt64(bytes.count) else { return nil }
            offset += 8 + Int(size + size & 1)
        }
        return nil
    }

    static func shortfall(path: String) -> (declared: UInt64, present: UInt64)? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 65536), let fileSize = try? handle.seekToEnd() else { return nil }
        let bytes = [UInt8](header)
        func fourCC(_ offset: Int) -> String { String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self) }
        func uint32(_ offset: Int) -> UInt64 {
            (0..<4).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
        }
        guard bytes.count >= 12, fourCC(0) == "RIFF", fourCC(8) == "WAVE" else { return nil }
        var offset = 12
        while offset + 8 <= bytes.count {
            let size = uint32(offset + 4)
            if fourCC(offset) == "data" {
                let present = fileSize - UInt64(offset + 8)
                let isPlaceholder = size == 0 || size == 0xFFFF_FFFF
                return !isPlaceholder && present < size ? (size, present) : nil
            }
            offset += 8 + Int(size + size & 1)  // chunks are padded to an even size
        }
        return nil
    }
}
