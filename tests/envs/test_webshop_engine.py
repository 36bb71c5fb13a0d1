"""The WebShop reference engine, its pages and actions, and the upstream-format loader.

The catalog here is a small fixture written in upstream's exact raw schema (items_shuffle /
items_ins_v2 / items_human_ins / reviews), loaded through the same loader as real data.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from dreamgym_env.envs.webshop.engine import WebShopEngine, parse_action
from dreamgym_env.envs.webshop.loader import CatalogFiles, load_catalog, parse_pricing

from dreamgym_env.error import DataFormatError

HAIR = {
    "asin": "B09C337K8S",
    "name": "Clip in Hair Extensions 20 inch Natural Long Straight Synthetic Hairpiece",
    "full_description": "Natural looking clip in extensions. Heat resistant fibre.",
    "small_description": ["Natural looking: blends with your hair", "Heat resistant up to 320F"],
    "pricing": "$19.99",
    "list_price": "",
    "brand": "Glenrow",
    "product_information": {"Item Weight": "4 ounces"},
    "images": ["https://m.media-amazon.com/images/I/71x.jpg"],
    "product_category": "Beauty & Personal Care › Hair Care › Hair Extensions, Wigs & Accessories › Extensions",
    "category": "beauty",
    "query": "Hair Extensions ",
    "customization_options": {
        "Color": [{"value": "Jet Black", "image": "https://x/1.jpg"}, {"value": "Light/Ash Blonde", "image": None}],
        "Size": [{"value": "14 inch", "image": None}, {"value": "20 inch", "image": None}],
    },
}


def filler(i: int) -> dict:
    return {
        "asin": f"B0FILL{i:04d}", "name": f"Widget Model {i} Hair Clip", "full_description": f"widget number {i}",
        "small_description": f"widget feature {i}", "pricing": f"${5 + i}.50 - ${10 + i}.00",
        "images": [""], "product_category": "Beauty & Personal Care › Hair Care › Accessories",
        "category": "beauty", "query": "hair clips", "customization_options": None,
    }


def write_fixture(d: Path, n_filler: int = 60, gz: bool = False) -> Path:
    items = [HAIR] + [filler(i) for i in range(n_filler)]
    items += [{**HAIR, "asin": "nan"}, {**HAIR, "asin": "B09C337K8SXX"}, dict(HAIR)]  # dropped by upstream
    attrs = {HAIR["asin"]: {"attributes": ["natural looking", "heat resistant"], "instruction": "i want hair extensions",
                            "instruction_attributes": ["natural looking"]}}
    human = {HAIR["asin"]: [
        {"asin": HAIR["asin"], "instruction": "i need a long clip-in hair extension which is natural looking.",
         "instruction_attributes": ["natural looking", "long"], "instruction_options": ["jet black", "20 inch"],
         "assignment_id": "A1", "worker_id": "W1"},
        {"asin": HAIR["asin"], "instruction": "no attributes here", "instruction_attributes": [],
         "instruction_options": []},
    ]}
    reviews = [{"asin": HAIR["asin"], "reviews": [{"title": "Great", "stars": "5", "review": "Looks real"}],
                "average_rating": 4.5}]
    d.mkdir(parents=True, exist_ok=True)
    files = {"items_shuffle_1000.json": items, "items_ins_v2_1000.json": attrs, "items_human_ins.json": human,
             "reviews.json": reviews}
    for name, obj in files.items():
        data = json.dumps(obj).encode()
        if gz:
            (d / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (d / name).write_bytes(data)
    return d


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return load_catalog(CatalogFiles.in_directory(write_fixture(tmp_path_factory.mktemp("ws"))))


@pytest.fixture
def engine(catalog):
    eng = WebShopEngine(catalog)
    eng.reset(catalog.goals[0])
    return eng


INSTR = "i need a long clip-in hair extension which is natural looking"


# ----- loader ----------------------------------------------------------------------------------
def test_loader_reads_upstream_schema(catalog):
    assert len(catalog) == 61  # 'nan', an 11-char asin and a duplicate are dropped
    p = catalog.by_asin["B09C337K8S"]
    assert p.options == {"color": ("jet black", "light | ash blonde"), "size": ("14 inch", "20 inch")}
    assert p.attributes == ("natural looking", "heat resistant") and p.query == "hair extensions"
    assert p.bullet_points[1] == "Heat resistant up to 320F" and p.rating == "4.5"
    assert p.reviews[0].score == 5 and p.reviews[0].body == "Looks real"
    f = catalog.by_asin["B0FILL0001"]
    assert f.attributes == ("DUMMY_ATTR",) and f.bullet_points == ("widget feature 1",) and f.options == {}
    assert f.pricing == (6.5, 11.0) and f.price_tag == "$6.5 to $11.0"
    assert 6.5 <= catalog.prices[f.asin] <= 11.0
    assert catalog.prices[p.asin] == 19.99


def test_loader_builds_human_goals_like_upstream(catalog):
    assert len(catalog.goals) == 1  # the instruction without attributes is skipped
    g = catalog.goals[0]
    assert g.instruction_text.startswith(INSTR + ", and price lower than ")
    assert g.instruction_text.endswith(".00 dollars") and g.price_upper in (30.0, 40.0, 50.0)
    assert g.goal_options == ("jet black", "20 inch") and g.attributes == ("natural looking", "long")
    assert g.name == HAIR["name"] and g.query == "hair extensions"


def test_loader_reads_gzip_and_synthetic_goals(tmp_path):
    c = load_catalog(CatalogFiles.in_directory(write_fixture(tmp_path, n_filler=3, gz=True)), human_goals_mode=False)
    texts = sorted(g.instruction_text.split(", and price")[0] for g in c.goals)
    assert len(texts) == 4  # one per option combination (2 colours x 2 sizes)
    assert texts[0] == "i want hair extensions with color: jet black, and size: 14 inch"
    assert all(g.option_types == ("color", "size") for g in c.goals)


def test_loader_num_products(tmp_path):
    c = load_catalog(CatalogFiles.in_directory(write_fixture(tmp_path)), num_products=5)
    assert len(c) == 5


@pytest.mark.parametrize("raw, prices, tag", [
    ("$19.99", (19.99,), "$19.99"), ("$12.50 - $15.99", (12.5, 15.99), "$12.5 to $15.99"),
    ("", (100.0,), "$100.0"), (None, (100.0,), "$100.0"), ("$1,299.00", (1299.0,), "$1299.0"),
])
def test_parse_pricing(raw, prices, tag):
    assert parse_pricing(raw, "f", "A") == (prices, tag)


@pytest.mark.parametrize("patch, field", [
    ({"name": None}, "name"), ({"pricing": 12}, "pricing"), ({"pricing": "$abc"}, "pricing"),
    ({"customization_options": {"Color": [{"image": None}]}}, "customization_options.Color"),
    ({"small_description": [1, 2]}, "small_description"), ({"asin": 7}, "asin"),
])
def test_malformed_catalog_names_record_and_field(tmp_path, patch, field):
    d = write_fixture(tmp_path, n_filler=2)
    items = json.loads((d / "items_shuffle_1000.json").read_text())
    items[1].update(patch)
    (d / "items_shuffle_1000.json").write_text(json.dumps(items))
    with pytest.raises(DataFormatError) as e:
        load_catalog(CatalogFiles.in_directory(d))
    assert e.value.field == field and "items_shuffle_1000.json" in str(e.value)
    assert e.value.record in ("B0FILL0000", "#1")


def test_malformed_json_and_missing_files(tmp_path):
    d = write_fixture(tmp_path, n_filler=1)
    (d / "items_human_ins.json").write_text("{not json")
    with pytest.raises(DataFormatError, match="items_human_ins.json"):
        load_catalog(CatalogFiles.in_directory(d))
    with pytest.raises(FileNotFoundError, match="items_shuffle"):
        CatalogFiles.in_directory(tmp_path / "empty")


# ----- actions and pages -----------------------------------------------------------------------
@pytest.mark.parametrize("action, parsed", [
    ("search[red shoes]", ("search", "red shoes")), ("click[Buy Now]", ("click", "Buy Now")),
    ("click[]", ("click[]", None)), ("search[abc", ("search[abc", None)), ("look", ("look", None)),
    ("click[a]trailing", ("click", "a")), ("search[a[b]c]", ("search[a", "b]c")),
])
def test_parse_action_is_upstreams_greedy_prefix_match(action, parsed):
    assert parse_action(action) == parsed


def test_search_page(engine):
    obs = engine.page.text()
    assert obs.startswith("WebShop [SEP] Instruction: [SEP] " + INSTR) and obs.endswith(" [SEP] Search")
    assert engine.available_actions() == {"has_search_bar": True, "clickables": ["search"]}
    assert engine.admissible_actions() == ["search[...]"]
    assert engine.page.text_rich().endswith("[button] Search [button_]\n")


def test_results_paging_ten_per_page_at_most_fifty(engine):
    r = engine.step("search[Widget hair]")
    assert r.valid and r.reward == 0 and not r.done
    segs = r.page.text().split(" [SEP] ")
    assert segs[2:5] == ["Back to Search", "Page 1 (Total results: 50)", "Next >"]
    assert len(segs) == 5 + 3 * 10 and segs[6].startswith("Widget Model")
    assert set(engine.available_actions()["clickables"]) >= {"back to search", "next >"}
    pages = [segs[5::3]]
    for n in range(2, 6):
        r = engine.step("click[next >]")
        segs = r.page.text().split(" [SEP] ")
        assert segs[3] == f"Page {n} (Total results: 50)" and segs[4] == "< Prev"
        pages.append([s for s in segs[5:] if s.startswith("B0")])
    assert "Next >" not in r.page.text()  # page 5 is the last of 50
    assert engine.step("click[next >]").valid is False
    flat = [a for p in pages for a in p]
    assert len(flat) == 50 and len(set(flat)) == 50
    assert engine.step("click[< prev]").page.text().split(" [SEP] ")[3] == "Page 4 (Total results: 50)"


def test_search_ranking_is_deterministic(catalog):
    e1, e2 = WebShopEngine(catalog), WebShopEngine(catalog)
    assert e1.search_results(("widget",)) == e2.search_results(("widget",))
    assert e1.search_results(("clip", "hair", "extensions", "natural"))[0] == "B09C337K8S"
    assert e1.search_results(("zzzz",)) == []


def test_item_page_options_sub_pages_and_buy(engine, catalog):
    engine.step("search[clip in hair extensions natural]")
    r = engine.step("click[B09C337K8S]")  # upper case is lowered before matching
    assert r.valid and r.page.name == "item"
    assert r.page.text().split(" [SEP] ")[2:] == [
        "Back to Search", "< Prev", "color", "jet black", "light | ash blonde", "size", "14 inch", "20 inch",
        HAIR["name"], "Price: $19.99", "Rating: 4.5", "Description", "Features", "Reviews", "Buy Now"]
    assert engine.available_actions()["clickables"] == [
        "back to search", "< prev", "description", "features", "reviews", "buy now",
        "jet black", "light | ash blonde", "14 inch", "20 inch"]
    before = r.page.text()
    r = engine.step("click[jet black]")
    assert r.page.text() == before and r.event["selected"] == {"color": "jet black"}
    assert "You have clicked jet black.\n" in r.page.text_rich()
    assert "  [clicked button] jet black [clicked button_]" in r.page.text_rich()
    assert "  [button] 14 inch [button_]" in r.page.text_rich()
    r = engine.step("click[features]")
    assert r.page.text().split(" [SEP] ")[2:] == ["Back to Search", "< Prev", *HAIR["small_description"]]
    assert engine.step("click[buy now]").valid is False  # not on a sub-page
    r = engine.step("click[reviews]")
    assert not r.valid
    r = engine.step("click[< prev]")
    assert r.page.name == "item" and engine.session.options == {"color": "jet black"}
    r = engine.step("click[description]")
    assert r.page.text().endswith("[SEP] " + HAIR["full_description"])
    engine.step("click[< prev]")
    engine.step("click[20 inch]")
    r = engine.step("click[buy now]")
    assert r.done and r.valid
    rb = r.event["breakdown"]
    assert rb.options_matched == ("jet black", "20 inch") and rb.attributes_matched == ("natural looking", "long")
    assert rb.price_ok and r.reward == 1.0
    assert r.page.text().startswith("Thank you for shopping with us! [SEP] Your code: [SEP] None")
    assert '[SEP] options [SEP] {"color": "jet black", "size": "20 inch"} [SEP]' in r.page.text()
    assert r.page.text().endswith("Your score (min 0.0, max 1.0) [SEP] 1.0 [SEP] Reward Details [SEP] None")
    assert engine.available_actions()["clickables"] == []
    after = engine.step("click[buy now]")
    assert not after.valid and not after.done and after.reward == 0 and "over" in after.error


def test_prev_from_item_returns_to_results_and_clears_options(engine):
    engine.step("search[widget]")
    engine.step("click[next >]")
    asin = engine.page.text().split(" [SEP] ")[6]
    engine.step(f"click[{asin}]")
    r = engine.step("click[< prev]")
    assert r.page.name == "results" and "Page 2 (Total results" in r.page.text() and engine.session.options == {}
    assert f"[clicked button] {asin} [clicked button_]" in r.page.text_rich()  # visited links are marked
    r = engine.step("click[back to search]")
    assert r.page.name == "search" and engine.session.asins == set() and engine.session.keywords is None


def test_wrong_product_scores_less(engine, catalog):
    engine.step("search[widget]")
    asin = engine.page.text().split(" [SEP] ")[5]
    engine.step(f"click[{asin}]")
    r = engine.step("click[buy now]")
    rb = r.event["breakdown"]
    assert r.done and r.reward < 1.0 and rb.options_missed == ("jet black", "20 inch")


@pytest.mark.parametrize("action, error", [
    ("click[]", "not a WebShop action"), ("search[", "not a WebShop action"), ("search[abc", "not a WebShop action"),
    ("click[next >]", "not clickable"), ("click[search]", "not clickable"), ("click[nonexistent button]", "not clickable"),
    ("search[" + "x" * 10_000 + "]", "characters long"), ("Search[shoes]", "unknown action"), ("search[ ]", "needs keywords"),
    ("", "not a WebShop action"), ("buy", "not a WebShop action"),
])
def test_bad_actions_keep_the_page(engine, action, error):
    before = engine.page
    r = engine.step(action)
    assert not r.valid and r.reward == 0 and not r.done and error in r.error
    assert r.page == before


def test_search_needs_the_search_bar(engine, catalog):
    engine.step("search[widget]")
    r = engine.step("search[hair]")
    assert not r.valid and "no search bar" in r.error
    anywhere = WebShopEngine(catalog, search_anywhere=True)
    anywhere.reset(catalog.goals[0])
    anywhere.step("search[widget]")
    assert anywhere.step("search[hair]").valid
