import Foundation
import Media

/// `frame_interval` and `max_frames` of the image stages (caption, detect, classify): how a video
/// item's frames are sampled — one every `interval` seconds from 0, at most `maxFrames`, spread
/// evenly over videos longer than `interval × maxFrames` (`VideoFrames.sampleTimes`).
struct FrameSampling: Equatable, Sendable {
    var interval = 10.0
    var maxFrames = 12

    var isDefault: Bool { self == FrameSampling() }

    /// Reads `frame_interval` / `max_frames` from a stage's options container.
    init<Key: CodingKey>(from c: KeyedDecodingContainer<Key>, interval intervalKey: Key, maxFrames maxFramesKey: Key) throws {
        interval = try c.decodeIfPresent(Double.self, forKey: intervalKey) ?? interval
        maxFrames = try c.decodeIfPresent(Int.self, forKey: maxFramesKey) ?? maxFrames
        guard interval > 0 && interval.isFinite else {
            throw DecodingError.dataCorruptedError(forKey: intervalKey, in: c, debugDescription: "must be a number of seconds above 0")
        }
        guard (1...1000).contains(maxFrames) else {
            throw DecodingError.dataCorruptedError(forKey: maxFramesKey, in: c, debugDescription: "must be from 1 to 1000")
        }
    }

    init() {}

    /// Writes them only when they differ from the defaults (so pipelines without them keep their hash).
    func encode<Key: CodingKey>(to c: inout KeyedEncodingContainer<Key>, interval intervalKey: Key, maxFrames maxFramesKey: Key) throws {
        if interval != FrameSampling().interval { try c.encode(interval, forKey: intervalKey) }
        if maxFrames != FrameSampling().maxFrames { try c.encode(maxFrames, forKey: maxFramesKey) }
    }
}

/// An image stage that also reads videos: image items go to it as they are; each video item
/// becomes its sampled frames (decoded once, handed over as `StageInput.image`), processed as
/// images `batchSize` frames at a time, and its result is every frame's result with its time:
///
///     {"text": "[0:00] A person.\n[0:10] Two cars.", "frames": [{"time": 0, "text": …, …}, …],
///      "frame_interval": 10, "duration": 21.3}
public final class VideoFrameSampling: PipelineStage {
    public let inner: any PipelineStage
    let sampling: FrameSampling

    init(_ inner: any PipelineStage, sampling: FrameSampling) {
        self.inner = inner; self.sampling = sampling
    }

    public var spec: StageSpec { inner.spec }
    public var task: any StageTask { inner.task }
    public var provenance: StageProvenance { inner.provenance }
    public var preferredBatchSize: Int { inner.preferredBatchSize }
    public func load() throws { try inner.load() }

    public func process(_ inputs: [StageInput], batchSize: Int, stop: RunStop, finish: (Int, Result<StageOutput, Error>) -> Void) {
        let videos = inputs.indices.filter { inputs[$0].item.media.kind == .video }
        let images = inputs.indices.filter { inputs[$0].item.media.kind != .video }
        if !images.isEmpty {
            inner.process(images.map { inputs[$0] }, batchSize: batchSize, stop: stop) { k, result in finish(images[k], result) }
        }
        for v in videos {
            guard !stop.isRequested else { return }
            do {
                // a video stopped part-way gets no record: the next run describes it again
                guard let output = try describe(inputs[v], batchSize: batchSize, stop: stop) else { return }
                finish(v, .success(output))
            } catch {
                finish(v, .failure(error))
            }
        }
    }

    /// One video: frames sampled and processed in groups of `batchSize`, so at most that many
    /// decoded frames are held at once.
    /// nil when `stop` came before every frame was looked at.
    private func describe(_ input: StageInput, batchSize: Int, stop: RunStop) throws -> StageOutput? {
        let began = Date()
        var frames: [(time: Double, result: JSONValue)] = []
        var pending: [(time: Double, input: StageInput)] = []
        var timings: [String: Double] = [:]
        var firstError: Error?
        func flush() {
            let group = pending
            pending.removeAll()
            var results = [Result<StageOutput, Error>?](repeating: nil, count: group.count)
            inner.process(group.map(\.input), batchSize: batchSize, stop: stop) { k, result in results[k] = result }
            for (frame, result) in zip(group, results) {
                switch result {
                case .success(let output)?:
                    frames.append((frame.time, output.result))
                    for (key, value) in output.timings where key != "wall" { timings[key, default: 0] += value }
                case .failure(let error)?: firstError = firstError ?? error
                case nil: firstError = firstError ?? PipelineError("no result for the frame at \(frame.time) s")
                }
            }
        }
        struct Stopped: Error {}
        var info: VideoInfo!  // the file is opened once: sample reports its stream
        var decodeSeconds = 0.0, mark = Date()
        do {
            info = try VideoFrames.sample(path: input.item.path, interval: sampling.interval, maxFrames: sampling.maxFrames) { frame in
                if stop.isRequested { throw Stopped() }
                decodeSeconds += Date().timeIntervalSince(mark)
                var frameInput = input
                frameInput.image = frame.image
                pending.append((frame.time, frameInput))
                if pending.count >= max(1, batchSize) { flush() }
                mark = Date()
            }
        } catch is Stopped {
            return nil
        }
        if !pending.isEmpty { flush() }
        if stop.isRequested { return nil }
        let times = VideoFrames.sampleTimes(duration: info.duration, interval: sampling.interval, maxFrames: sampling.maxFrames)
        if frames.isEmpty, let firstError { throw firstError }
        timings["frames"] = decodeSeconds
        timings["wall"] = Date().timeIntervalSince(began)
        let text = frames.map { "[\(Self.clock($0.time))] \($0.result["text"]?.text ?? "")" }.joined(separator: "\n")
        var result: [String: JSONValue] = [
            "text": .string(text),
            "frames": .array(frames.map { frame in
                var fields = frame.result.objectValue ?? ["result": frame.result]
                fields["time"] = .double(frame.time)
                return .object(fields)
            }),
            "frame_interval": .double(times.count > 1 ? times[1] - times[0] : sampling.interval),
            "width": .int(Int64(info.width)), "height": .int(Int64(info.height)),
        ]
        if let duration = info.duration { result["duration"] = .double((duration * 1000).rounded() / 1000) }
        if let firstError {  // some frames failed: the record keeps the others and says so
            result["frame_error"] = .string("\(firstError)")
        }
        return StageOutput(result: .object(result), mediaSeconds: info.duration, timings: timings)
    }

    /// 75.4 → "1:15"; an hour or more → "1:02:03".
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.down))
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
