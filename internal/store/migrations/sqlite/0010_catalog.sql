-- Product catalog: products, their images and embedding vectors, import
-- batches with per-row outcomes, a version counter bumped on every change,
-- and a full-text index over the descriptive fields.
CREATE TABLE catalog_state (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
INSERT INTO catalog_state(id, version) VALUES (1, 0);

-- seq is the stable numeric key used by the vector index and the FTS table
-- (an explicit INTEGER PRIMARY KEY survives VACUUM, a bare rowid may not).
CREATE TABLE products (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	id TEXT NOT NULL UNIQUE,
	title TEXT NOT NULL DEFAULT '',
	brand TEXT NOT NULL DEFAULT '',
	category TEXT NOT NULL DEFAULT '',
	colour TEXT NOT NULL DEFAULT '',
	price REAL,
	currency TEXT NOT NULL DEFAULT '',
	availability TEXT NOT NULL DEFAULT 'in_stock',
	rating REAL,
	rating_count INTEGER,
	url TEXT NOT NULL DEFAULT '',
	attributes TEXT NOT NULL DEFAULT '{}',
	record_hash TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'pending',
	error TEXT NOT NULL DEFAULT '',
	version INTEGER NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL
);
CREATE INDEX products_category ON products(category);
CREATE INDEX products_status ON products(status);

CREATE TABLE product_images (
	product_seq INTEGER NOT NULL REFERENCES products(seq) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	source TEXT NOT NULL,
	sha256 TEXT NOT NULL DEFAULT '',
	blob_key TEXT NOT NULL DEFAULT '',
	width INTEGER NOT NULL DEFAULT 0,
	height INTEGER NOT NULL DEFAULT 0,
	item_label TEXT NOT NULL DEFAULT '',
	item_box TEXT NOT NULL DEFAULT '',
	state TEXT NOT NULL DEFAULT 'pending',
	error TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (product_seq, position)
);
CREATE INDEX product_images_sha ON product_images(sha256);

-- Vectors are little-endian float32, L2-normalised.
CREATE TABLE product_vectors (
	product_seq INTEGER NOT NULL REFERENCES products(seq) ON DELETE CASCADE,
	image_sha256 TEXT NOT NULL,
	kind TEXT NOT NULL,
	model TEXT NOT NULL,
	dim INTEGER NOT NULL,
	vector BLOB NOT NULL,
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (product_seq, image_sha256, kind, model)
);
CREATE INDEX product_vectors_sha ON product_vectors(image_sha256, kind, model);
CREATE INDEX product_vectors_kind ON product_vectors(kind, model);

CREATE TABLE catalog_batches (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	source TEXT NOT NULL,
	format TEXT NOT NULL,
	state TEXT NOT NULL,
	total INTEGER NOT NULL DEFAULT 0,
	added INTEGER NOT NULL DEFAULT 0,
	updated INTEGER NOT NULL DEFAULT 0,
	unchanged INTEGER NOT NULL DEFAULT 0,
	failed INTEGER NOT NULL DEFAULT 0,
	deleted INTEGER NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	finished_at TIMESTAMP
);

CREATE TABLE catalog_batch_rows (
	batch_id INTEGER NOT NULL REFERENCES catalog_batches(id) ON DELETE CASCADE,
	line INTEGER NOT NULL,
	product_id TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (batch_id, line)
);
CREATE INDEX catalog_batch_rows_product ON catalog_batch_rows(batch_id, product_id);

-- Full-text search over the descriptive fields; rowid = products.seq. The
-- attribute values (not their keys) are indexed.
CREATE VIRTUAL TABLE products_fts USING fts5(
	title, brand, category, colour, attrs,
	tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER products_fts_ai AFTER INSERT ON products BEGIN
	INSERT INTO products_fts(rowid, title, brand, category, colour, attrs)
	VALUES (new.seq, new.title, new.brand, new.category, new.colour,
		(SELECT coalesce(group_concat(value, ' '), '') FROM json_each(new.attributes)));
END;
CREATE TRIGGER products_fts_ad AFTER DELETE ON products BEGIN
	DELETE FROM products_fts WHERE rowid = old.seq;
END;
CREATE TRIGGER products_fts_au AFTER UPDATE OF title, brand, category, colour, attributes ON products BEGIN
	DELETE FROM products_fts WHERE rowid = old.seq;
	INSERT INTO products_fts(rowid, title, brand, category, colour, attrs)
	VALUES (new.seq, new.title, new.brand, new.category, new.colour,
		(SELECT coalesce(group_concat(value, ' '), '') FROM json_each(new.attributes)));
END;
