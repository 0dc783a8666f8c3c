-- PostgreSQL twin of sqlite/0090_add_to_cart.sql.
-- Player analytics: "Add to cart" presses, for products the player offers
-- to the host page's cart (they have no link of their own to follow).
ALTER TABLE analytics_daily ADD COLUMN carts BIGINT NOT NULL DEFAULT 0;
