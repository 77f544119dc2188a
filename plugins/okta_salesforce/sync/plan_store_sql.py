"""The plan store's tables, and its matching done in bulk SQL (:mod:`okta_salesforce.sync.plan_store`).

Loading appends rows without indexes; :data:`INDEXES` are built in one pass each once both sides
are loaded, then :data:`MATCH` decides every assignment's match with set operations, as
:class:`~okta_salesforce.sync.matching.Matcher` would one by one.
"""

SCHEMA = """
CREATE TABLE okta (seq INTEGER PRIMARY KEY, login_key TEXT, assigned INTEGER, data BLOB);
CREATE TABLE okta_key (seq INTEGER, rule INTEGER, key TEXT, PRIMARY KEY (seq, rule)) WITHOUT ROWID;
CREATE TABLE sf (seq INTEGER PRIMARY KEY, id TEXT, username_key TEXT, managed_active INTEGER,
                 frozen INTEGER DEFAULT 0, login_id TEXT, data BLOB);
CREATE TABLE sf_key (rule INTEGER, key TEXT, seq INTEGER);
CREATE TABLE taken (kind INTEGER, key TEXT);
CREATE TABLE claimed (seq INTEGER PRIMARY KEY);
CREATE TABLE creates (login_key TEXT PRIMARY KEY, username_key TEXT, mapped BLOB);
CREATE INDEX creates_username ON creates (username_key);
CREATE TABLE actions (k INTEGER, idx INTEGER, data BLOB, PRIMARY KEY (k, idx)) WITHOUT ROWID;
"""
#: Indexes built in bulk once both sides are loaded (cheaper than keeping them up to date row by row).
INDEXES = """
CREATE INDEX okta_login ON okta (login_key, assigned, seq);
CREATE INDEX sf_id ON sf (id);
CREATE INDEX sf_username ON sf (username_key);
CREATE INDEX sf_keys ON sf_key (rule, key, seq);
CREATE INDEX taken_keys ON taken (kind, key);
"""
#: Matching in bulk, once both sides are stored: ``sel`` is one assignment per login (the first
#: assigned one, else the first, at the position of the login's first row); ``matches`` its deciding
#: rule (the first by precedence with a Salesforce user), how many users it found, and the one.
MATCH = """
CREATE TABLE sel (pos INTEGER PRIMARY KEY, win INTEGER);
INSERT INTO sel SELECT MIN(seq), COALESCE(MIN(CASE WHEN assigned THEN seq END), MIN(seq))
    FROM okta GROUP BY login_key;
CREATE TABLE cand (pos INTEGER, rule INTEGER, n INTEGER, one INTEGER, PRIMARY KEY (pos, rule)) WITHOUT ROWID;
INSERT INTO cand SELECT s.pos, ok.rule, COUNT(*), MIN(sk.seq)
    FROM sel s JOIN okta_key ok ON ok.seq = s.win JOIN sf_key sk ON sk.rule = ok.rule AND sk.key = ok.key
    GROUP BY s.pos, ok.rule;
CREATE TABLE matches (pos INTEGER PRIMARY KEY, rule INTEGER, n INTEGER, one INTEGER);
INSERT INTO matches SELECT pos, rule, n, one FROM cand c
    WHERE rule = (SELECT MIN(rule) FROM cand b WHERE b.pos = c.pos);
CREATE TABLE claims (seq INTEGER PRIMARY KEY, n INTEGER);
INSERT INTO claims SELECT one, COUNT(*) FROM matches WHERE n = 1 GROUP BY one;
INSERT OR IGNORE INTO claimed SELECT seq FROM claims;
INSERT OR IGNORE INTO claimed SELECT sk.seq FROM matches m CROSS JOIN sel s ON s.pos = m.pos
    CROSS JOIN okta_key ok ON ok.seq = s.win AND ok.rule = m.rule
    CROSS JOIN sf_key sk ON sk.rule = ok.rule AND sk.key = ok.key WHERE m.n > 1;
"""
# CROSS JOIN keeps SQLite to this order (each ambiguous match, its key, the users with that key):
# left to choose, it searched sf_key by rule alone, every key of the rule for each ambiguous match.
