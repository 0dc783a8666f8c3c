-- Player analytics: "Add to cart" presses, for products the player offers
-- to the host page's cart (they have no link of their own to follow).
ALTER TABLE analytics_daily ADD COLUMN carts INTEGER NOT NULL DEFAULT 0;
