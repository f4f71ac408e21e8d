"""Benchmark column layouts for make_demo_data.py --kind: the synthetic shape questions written as
VLMEvalKit's TSVs of MMBench, MMStar, AI2D, SEEDBench, ScienceQA, MMMU, POPE, MME and
HallusionBench are laid out (the columns each dataset class and scorer reads), so that `run` can
be tried end to end on every scorer with the demo model. Not the benchmarks' content.

write_layout(kind, rows, scenes, out, name, rng) writes {out}/{name}.tsv; `rows` and `scenes` are
make_demo_data.py's (only rows without a `bad` reason are used).
"""
import os

KINDS = ["mmbench", "mmstar", "ai2d", "seedbench", "scienceqa", "mmmu", "pope", "mme", "hallusion"]
LETTERS = "ABCD"
CATEGORY = {  # qtype -> (category, l2-category) in MMBench's names
    "colour": ("attribute_recognition", "finegrained_perception (instance-level)"),
    "shape": ("image_topic", "coarse_perception"),
    "count": ("object_localization", "finegrained_perception (instance-level)"),
    "position": ("spatial_relationship", "relation_reasoning"),
}
MME_CATEGORIES = ["existence", "count", "position", "color", "code_reasoning"]


def qtype_of(question):
    if question.startswith("What colour"):
        return "colour"
    if question.startswith("What shape"):
        return "shape"
    if question.startswith("How many"):
        return "count"
    return "position"


def image_cell(r):
    """The row's own base64 image, or the index of the row that holds it."""
    return r["image"]


def own_image_index(r):
    return r["index"] if r["image_ref"] is None else r["image_ref"]


def write_tsv(path, header, records):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\t".join(header) + "\n")
        for rec in records:
            cells = [str(rec.get(h, "")) for h in header]
            for c in cells:
                assert "\t" not in c and "\n" not in c and not c.startswith('"'), c
            f.write("\t".join(cells) + "\n")


def opts4(options):
    return {LETTERS[k]: (options[k] if k < len(options) else "") for k in range(4)}


def write_layout(kind, rows, scenes, out, name, rng):
    rows = [r for r in rows if r["bad"] is None]
    path = os.path.join(out, f"{name}.tsv")
    recs = []
    if kind == "mmbench":
        # Circular copies: option order rotated by k, index + k * 1e6, image by reference.
        header = ["index", "question", "hint", "A", "B", "C", "D", "answer", "category",
                  "l2-category", "split", "image"]
        for r in rows:
            cat, l2 = CATEGORY[qtype_of(r["question"])]
            hint = "Look at the shapes." if r["index"] % 3 == 0 else ""
            n = len(r["options"])
            for k in range(n):
                opts = r["options"][k:] + r["options"][:k]
                ans = LETTERS[opts.index(r["options"][LETTERS.index(r["answer"])])]
                image = image_cell(r) if k == 0 else str(own_image_index(r))
                recs.append(dict(index=r["index"] + k * 1000000, question=r["question"], hint=hint,
                                 answer=ans, category=cat, **{"l2-category": l2}, split="dev",
                                 image=image, **opts4(opts)))
        recs.sort(key=lambda x: x["index"])
    elif kind in ("mmstar", "ai2d", "seedbench", "scienceqa"):
        header = {
            "mmstar": ["index", "question", "A", "B", "C", "D", "answer", "category",
                       "l2_category", "bench", "image"],
            "ai2d": ["index", "image", "question", "hint", "A", "B", "C", "D", "answer"],
            "seedbench": ["index", "image", "question", "A", "B", "C", "D", "answer", "category"],
            "scienceqa": ["index", "question", "hint", "A", "B", "C", "D", "answer", "category",
                          "image"],
        }[kind]
        for r in rows:
            cat, l2 = CATEGORY[qtype_of(r["question"])]
            hint = "The picture shows simple shapes." if r["index"] % 2 == 0 else ""
            recs.append(dict(index=r["index"], question=r["question"], hint=hint,
                             answer=r["answer"], category=cat, l2_category=l2, bench="demo",
                             image=image_cell(r), **opts4(r["options"])))
        if kind == "scienceqa":  # ScienceQA rows without an image are dropped on load
            base = max(r["index"] for r in rows) + 1
            for j in range(2):
                recs.append(dict(index=base + j, question="Which word is a noun?", hint="",
                                 A="run", B="table", answer="B", category="language", image=""))
    elif kind == "mmmu":
        # Every 4th row an open question (no options, the answer text); every 5th two images.
        header = ["index", "question", "A", "B", "C", "D", "answer", "category", "split", "image"]
        own = [r for r in rows if r["image_ref"] is None]
        for r in rows:
            cat = qtype_of(r["question"]).capitalize()
            idx = f"validation_{cat}_{r['index']}"
            q = "<image 1> " + r["question"]
            image = r["image"] if r["image_ref"] is None else own[0]["image"]
            rec = dict(index=idx, category=cat, split="validation", image=image)
            if r["index"] % 5 == 1 and r["image_ref"] is None:
                other = own[(own.index(r) + 1) % len(own)]
                rec["image"] = "['" + r["image"] + "', '" + other["image"] + "']"
                q += " (<image 2> is another picture.)"
            if r["index"] % 4 == 3:
                rec.update(question=q, answer=r["options"][LETTERS.index(r["answer"])])
            else:
                rec.update(question=q, answer=r["answer"], **opts4(r["options"]))
            recs.append(rec)
    elif kind in ("pope", "mme", "hallusion"):
        # Two questions per image: one about a shape it has (Yes), one about a shape it lacks (No).
        header = {
            "pope": ["index", "question", "answer", "category", "image"],
            "mme": ["index", "image", "question", "answer", "category", "image_path"],
            "hallusion": ["index", "category", "l2-category", "question", "answer", "image"],
        }[kind]
        popes = ["adversarial", "popular", "random"]
        n = 0
        for r in rows:
            if r["image_ref"] is not None:
                continue
            scene = scenes[r["index"]]
            s = scene["shapes"][0]
            present = f"Is there a {s['colour']} {s['kind']} in the image?"
            kinds = {x["kind"] for x in scene["shapes"]}
            absent_kind = next(k for k in ("circle", "square", "triangle", "diamond")
                               if k not in kinds)
            absent = f"Is there a {absent_kind} in the image?"
            qtype = qtype_of(r["question"])
            for q_id, (q, ans) in enumerate([(present, "Yes"), (absent, "No")]):
                image = r["image"] if q_id == 0 else None
                if kind == "pope":
                    idx = n
                    cat = popes[n % 3] if n % 7 else "popular,random"
                    recs.append(dict(index=idx, question=q, answer=ans, category=cat,
                                     image=image if image else str(first)))
                elif kind == "mme":
                    idx = n
                    cat = MME_CATEGORIES[r["index"] % len(MME_CATEGORIES)]
                    recs.append(dict(index=idx, image=image if image else str(first), question=q,
                                     answer=ans, category=cat,
                                     image_path=f"{cat}/{r['index']}.jpg"))
                else:
                    idx = f"VD_{qtype}_{r['index']}_{r['index'] % 4}_0_{q_id}"
                    recs.append(dict(index=idx, category="VD", **{"l2-category": qtype},
                                     question=q, answer=ans,
                                     image=image if image else str(first)))
                if q_id == 0:
                    first = idx
                n += 1
    else:
        raise ValueError(f"unknown kind {kind}")
    write_tsv(path, header, recs)
