#!/usr/bin/env python3
"""Makes Hearth's answer-quality set eval/qa/qa.jsonl (read by scripts/eval/eval_qa.py).

    python3 scripts/eval/make_qa_set.py [--hearth .build/release/hearth] [--out eval/qa/qa.jsonl]

Three kinds of material, each exactly the text a pipeline's ask stage is given:
  speech   espeak-ng (voice en-us, 150 wpm) + sox synthesize the clips below from known text; the
           material is what `hearth transcribe` (whisper-tiny.en, beam 5, as pipelines/mixed-media-qa.yaml)
           makes of them, so transcription errors are part of the test. samples/jfk.wav and
           samples/speech_espeak.flac are transcribed too.
  photo    `hearth caption --json` (yolov3-tiny) of samples/ and Debian darknet's photos: the caption
           sentence and the detector's tags. Answers are what the caption states, not what the photo shows.
  passage  short texts written here.

Each line: id, kind, source, material fields (transcript | caption, tags, width, height | passage),
known_text (speech), question, answers (accepted short answers, first = canonical), not_stated.
A "not stated" question's correct answer is to say so. The script refuses (exit 1) to write a set
in which an answerable question's accepted answers all have a word its material lacks
(normalized as the scorer does): the transcript, not the known text, decides.
"""
import argparse, json, os, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qa_scoring import normalize

NS = None   # marks a question whose answer the material does not state

# (id, known text, [(question, answers | NS)])
SPEECH = [
    ("market", "The farmers market opens every Saturday at seven in the morning. Mary Brown sells apples "
               "and pears from her farm near the river. This year she brought twelve baskets of plums.",
     [("On which day does the market open?", ["Saturday", "every Saturday", "Saturdays"]),
      ("At what time does the market open?", ["seven in the morning", "seven", "7 am", "7:00"]),
      ("Who sells apples and pears?", ["Mary Brown", "Mary"]),
      ("How many baskets of plums did she bring?", ["twelve", "12", "twelve baskets"]),
      ("How much do the apples cost?", NS)]),
    ("train", "The night train to London leaves from platform four. Passengers should board at least "
              "ten minutes early. The journey takes eleven hours.",
     [("Where does the night train go?", ["London", "to London"]),
      ("Which platform does the train leave from?", ["platform four", "four", "4"]),
      ("How long does the journey take?", ["eleven hours", "11 hours"]),
      ("How much does a ticket cost?", NS)]),
    ("museum", "The city museum is closed on Mondays. A new exhibition about ancient Egypt opens next "
               "month. Children under twelve enter for free.",
     [("On which day is the museum closed?", ["Monday", "Mondays", "on Mondays"]),
      ("What is the new exhibition about?", ["ancient Egypt", "Egypt"]),
      ("Who can enter for free?", ["children under twelve", "children", "children under 12"]),
      ("Who is the director of the museum?", NS)]),
    ("doctor", "Doctor Maria Lopez works at the hospital on Green Street. She treats patients with heart "
               "problems. On Fridays she teaches medical students.",
     [("What is the doctor's name?", ["Maria Lopez", "Doctor Maria Lopez", "Dr. Maria Lopez", "Lopez"]),
      ("On which street is the hospital?", ["Green Street", "Green"]),
      ("What kind of patients does she treat?", ["patients with heart problems", "heart problems", "heart patients"]),
      ("How old is Doctor Lopez?", NS)]),
    ("lostdog", "We have lost our dog, a small brown terrier called Max. He was last seen in the park on "
                "Sunday evening. Please call Peter if you find him.",
     [("What is the dog called?", ["Max"]),
      ("Where was the dog last seen?", ["in the park", "park", "the park"]),
      ("Whom should you call if you find the dog?", ["Peter", "call Peter"]),
      ("What is Peter's phone number?", NS)]),
    ("concert", "The school orchestra will play in the town hall on the fifth of June. The program includes "
                "songs from old films. Tickets cost three euros.",
     [("Where will the orchestra play?", ["in the town hall", "town hall", "the town hall"]),
      ("How much does a ticket cost?", ["three euros", "3 euros", "€3", "3 €"]),
      ("What music is on the program?", ["songs from old films", "old film songs", "film songs", "songs from films", "from old films", "old films"]),
      ("Who conducts the orchestra?", NS)]),
    ("flood", "The river flooded after three days of heavy rain. Water covered the road to the village of "
              "Elm Creek. The bridge stays closed until Thursday.",
     [("Why did the river flood?", ["heavy rain", "three days of heavy rain", "after three days of heavy rain", "rain"]),
      ("Until when is the bridge closed?", ["Thursday", "until Thursday"]),
      ("How many houses were damaged?", NS)]),
]
# Committed clips: (id, file, known text, questions)
SPEECH_SAMPLES = [
    ("jfk", "samples/jfk.wav", "And so my fellow Americans, ask not what your country can do for you, ask what "
                               "you can do for your country.",
     [("Whom does the speaker address?", ["my fellow Americans", "fellow Americans", "Americans", "the American people"]),
      ("What does the speaker ask his fellow Americans to do?",
       ["ask what you can do for your country", "what you can do for your country",
        "ask what they can do for their country", "what they can do for their country",
        "ask what they can do for the country", "do for your country", "do for their country"]),
      ("In which year was this speech given?", NS)]),
    ("weather", "samples/speech_espeak.flac", None,
     [("Which area is the weather report for?", ["the coast", "coast", "for the coast"]),
      ("From which direction will the clouds move in?", ["west", "from the west", "the west"]),
      ("Where may there be light rain in the afternoon?", ["near the hills", "hills", "the hills"]),
      ("How will the sea be?", ["smooth", "the sea will be smooth"]),
      ("What temperature is expected tomorrow?", NS)]),
]
# (id, file, questions); darknet's photos come with Debian's darknet package.
DARKNET = "/usr/share/darknet/data"
PHOTOS = [
    ("dog", "samples/dog.jpg",
     [("What animal is in the photo?", ["dog", "a dog"]),
      ("Which vehicles are in the photo?", ["a bicycle, a car and a truck", "bicycle, car and truck", "car, truck and bicycle",
                                            "a car, a truck and a bicycle", "bicycle, car, truck"]),
      ("What breed is the dog?", NS)]),
    ("horses", "samples/horses.jpg",
     [("How many horses are there?", ["three", "3", "three horses"]),
      ("How many cows are there?", ["two", "2", "two cows"]),
      ("What colour are the horses?", NS)]),
    ("person", "samples/person.jpg",
     [("Where in the picture is the horse?", ["on the right", "right", "the right"]),
      ("Which animals are in the photo?", ["a horse and a dog", "horse and dog", "dog and horse", "a dog and a horse"]),
      ("Is the person riding the horse?", NS),
      ("What is the person wearing?", NS)]),
    ("chelsea", "samples/chelsea.png",
     [("What animal is in the photo?", ["cat", "a cat"]),
      ("What is the cat's name?", NS)]),
    ("eagle", f"{DARKNET}/eagle.jpg",
     [("What does the detector see in the photo?", ["a bird", "bird"]),
      ("What species of bird is it?", NS)]),
    ("giraffe", f"{DARKNET}/giraffe.jpg",
     [("Which animals are in the photo?", ["a giraffe and a zebra", "giraffe and zebra", "zebra and giraffe"]),
      ("Which animal is there besides the giraffe?", ["a zebra", "zebra"]),
      ("In which country was the photo taken?", NS)]),
    ("kite", f"{DARKNET}/kite.jpg",
     [("How many people are in the photo?", ["two", "2", "two people"]),
      ("Where are the people?", ["on the left", "left", "the left"]),
      ("What object is there besides the people?", ["a kite", "kite"]),
      ("What colour is the kite?", NS)]),
    ("scream", f"{DARKNET}/scream.jpg",
     [("What object does the detector find?", ["a bed", "bed"]),
      ("Who painted the picture?", NS)]),
]
PASSAGES = [
    ("lighthouse", "The Harbor Point lighthouse was built in 1871 from local granite. It stands 32 meters tall. "
                   "The last keeper, Thomas Reed, left in 1965 when the light was automated.",
     [("When was the lighthouse built?", ["1871", "in 1871"]),
      ("What is the lighthouse built from?", ["local granite", "granite"]),
      ("How tall is the lighthouse?", ["32 meters", "32 m", "32 metres", "thirty-two meters"]),
      ("Who was the last keeper?", ["Thomas Reed"]),
      ("Who designed the lighthouse?", NS)]),
    ("soup", "To make the soup, fry two onions in butter, add four cups of stock and a pound of carrots, and "
             "simmer for twenty minutes. Season with salt and a pinch of nutmeg.",
     [("How many onions are needed?", ["two", "2", "two onions"]),
      ("How long does the soup simmer?", ["twenty minutes", "20 minutes", "for twenty minutes"]),
      ("Which spice is added besides salt?", ["nutmeg", "a pinch of nutmeg"]),
      ("How many people does the soup serve?", NS)]),
    ("office", "From Monday, the Oslo office moves to the fourth floor. The help desk keeps its phone number. "
               "Questions go to Priya Nair in facilities.",
     [("Which office is moving?", ["the Oslo office", "Oslo"]),
      ("To which floor does the office move?", ["the fourth floor", "fourth floor", "fourth", "4th floor", "4th"]),
      ("Who answers questions about the move?", ["Priya Nair", "Priya Nair in facilities"]),
      ("Why is the office moving?", NS)]),
    ("tern", "The Arctic tern migrates from the Arctic to the Antarctic and back every year, a round trip of "
             "about 70,000 kilometres. It can live for more than 30 years.",
     [("Where does the Arctic tern migrate to?", ["the Antarctic", "Antarctic", "to the Antarctic", "Antarctica"]),
      ("How long is the round trip?", ["about 70,000 kilometres", "70,000 kilometres", "70000 km", "70,000 km",
                                       "70,000 kilometers"]),
      ("How long can an Arctic tern live?", ["more than 30 years", "over 30 years", "30 years"]),
      ("What does the Arctic tern eat?", NS)]),
    ("invoice", "Invoice 4417 from Blue Fern Printing is for 500 leaflets at 0.12 euros each, 60 euros in total, "
                "due on 15 March.",
     [("Which company sent the invoice?", ["Blue Fern Printing", "Blue Fern"]),
      ("How many leaflets are on the invoice?", ["500", "500 leaflets", "five hundred"]),
      ("What is the total?", ["60 euros", "€60", "60 €", "sixty euros"]),
      ("When is the invoice due?", ["15 March", "on 15 March", "March 15"]),
      ("What is printed on the leaflets?", NS)]),
    ("final", "In the final, the Rovers beat the Harriers 3 to 1. Sam Okafor scored twice, and the match was "
              "watched by 18,000 fans.",
     [("Which team won the final?", ["the Rovers", "Rovers"]),
      ("Who scored twice?", ["Sam Okafor", "Okafor"]),
      ("How many fans watched the match?", ["18,000", "18000", "18,000 fans", "eighteen thousand"]),
      ("In which stadium was the final played?", NS)]),
]


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out.stdout


def synthesize(text, wav):
    raw = wav + ".22k.wav"
    subprocess.run(["espeak-ng", "-b", "1", "-v", "en-us", "-s", "150", "-w", raw, "--", text], check=True)
    subprocess.run(["sox", "-R", "-D", "-V1", raw, "-r", "16000", "-c", "1", "-b", "16", wav], check=True)
    os.remove(raw)


def transcribe(hearth, path):
    return json.loads(run([hearth, "transcribe", "--json", "--beam-size", "5", path]))["text"].strip()


def caption(hearth, path):
    record = json.loads(run([hearth, "caption", "--json", path]))
    return {"caption": record["text"], "tags": ", ".join(record["tags"]),
            "width": record["width"], "height": record["height"]}


def stated(answer, material):
    """Every word of the answer (a list's "and" aside) is in the material, normalized as the scorer does."""
    return set(normalize(answer).split()) - {"and"} <= set(normalize(material).split())


def add(rows, problems, base, kind, source, material, text_for_check, questions, known_text=None):
    for n, (question, answers) in enumerate(questions, 1):
        row = {"id": f"{kind}-{base}-{n}", "kind": kind, "source": source, **material}
        if known_text is not None: row["known_text"] = known_text
        row.update(question=question, answers=answers or ["not stated"], not_stated=answers is None)
        if answers is not None and not any(stated(a, text_for_check) for a in answers):
            problems.append(f"{row['id']}: no accepted answer of {answers} is in the material: {text_for_check!r}")
        rows.append(row)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hearth", default=os.path.join(root, ".build/release/hearth"))
    parser.add_argument("--out", default=os.path.join(root, "eval/qa/qa.jsonl"))
    args = parser.parse_args()
    for tool in ("espeak-ng", "sox"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            sys.exit(f"make_qa_set: missing {tool} (apt-get install espeak-ng sox)")
    if not os.path.isdir(DARKNET):
        sys.exit(f"make_qa_set: {DARKNET} is missing (apt-get install darknet: its sample photos)")
    os.chdir(root)
    rows, problems = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for base, text, questions in SPEECH:
            wav = os.path.join(tmp, base + ".wav")
            synthesize(text, wav)
            transcript = transcribe(args.hearth, wav)
            add(rows, problems, base, "speech", f"espeak-ng en-us 150 wpm: {base}", {"transcript": transcript},
                transcript, questions, known_text=text)
    for base, path, text, questions in SPEECH_SAMPLES:
        transcript = transcribe(args.hearth, path)
        if text is None:
            with open("Tests/WhisperTests/Fixtures/speech_espeak.txt") as f: text = f.read().strip()
        add(rows, problems, base, "speech", path, {"transcript": transcript}, transcript, questions, known_text=text)
    for base, path, questions in PHOTOS:
        material = caption(args.hearth, path)
        add(rows, problems, base, "photo", path.replace(DARKNET, "darknet:data"), material,
            material["caption"] + " " + material["tags"], questions)
    for base, text, questions in PASSAGES:
        add(rows, problems, base, "passage", "make_qa_set.py", {"passage": text}, text, questions)
    if problems:
        sys.exit("make_qa_set: refusing to write the set:\n  " + "\n  ".join(problems))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        for row in rows: f.write(json.dumps(row, ensure_ascii=False) + "\n")
    stated = sum(not r["not_stated"] for r in rows)
    print(f"{args.out}: {len(rows)} questions ({stated} answerable, {len(rows) - stated} not stated; "
          + ", ".join(f"{k} {sum(r['kind'] == k for r in rows)}" for k in ("speech", "photo", "passage")) + ")")


if __name__ == "__main__":
    main()
