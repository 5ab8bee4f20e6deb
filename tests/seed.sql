-- An inventory system as real ones look: several schemas, FKs, partial and expression indexes, a
-- PL/pgSQL procedure and function, triggers, views, sequences, a table without a PK, jsonb, bytea, enums.
CREATE SCHEMA catalog;
CREATE SCHEMA inventory;
CREATE SCHEMA audit;

CREATE TYPE inventory.stock_status AS ENUM ('in_stock', 'backorder', 'discontinued');

CREATE TABLE catalog.category (
    id         serial PRIMARY KEY,
    parent_id  integer REFERENCES catalog.category (id),
    name       text NOT NULL UNIQUE,
    attributes jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE catalog.product (
    id           bigserial PRIMARY KEY,
    sku          text NOT NULL,
    category_id  integer NOT NULL REFERENCES catalog.category (id),
    name         text NOT NULL,
    description  text,
    price        numeric(12, 2) NOT NULL CHECK (price >= 0),
    attributes   jsonb,
    thumbnail    bytea,
    image_path   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    discontinued boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX product_sku_lower_key ON catalog.product (lower(sku));
CREATE INDEX product_active_by_category ON catalog.product (category_id) WHERE NOT discontinued;
CREATE INDEX product_attributes_gin ON catalog.product USING gin (attributes);

CREATE TABLE inventory.warehouse (
    code   char(4) PRIMARY KEY,
    name   text NOT NULL,
    region text NOT NULL
);

CREATE TABLE inventory.stock (
    warehouse_code char(4) NOT NULL REFERENCES inventory.warehouse (code),
    product_id     bigint NOT NULL REFERENCES catalog.product (id),
    quantity       integer NOT NULL DEFAULT 0,
    status         inventory.stock_status NOT NULL DEFAULT 'in_stock',
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (warehouse_code, product_id)
);
CREATE INDEX stock_low ON inventory.stock (product_id) WHERE quantity < 10;

-- No primary key: DMS cannot replicate its UPDATEs and DELETEs.
CREATE TABLE audit.stock_event (
    at             timestamptz NOT NULL DEFAULT now(),
    warehouse_code char(4),
    product_id     bigint,
    delta          integer,
    note           text
);

CREATE SEQUENCE inventory.order_number_seq START 100000;

CREATE FUNCTION inventory.available(p_product bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    total bigint;
BEGIN
    SELECT coalesce(sum(quantity), 0) INTO total FROM inventory.stock WHERE product_id = p_product;
    RETURN total;
END
$$;

CREATE FUNCTION audit.log_stock_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit.stock_event (warehouse_code, product_id, delta, note)
    VALUES (NEW.warehouse_code, NEW.product_id, NEW.quantity - coalesce(OLD.quantity, 0), TG_OP);
    RETURN NEW;
END
$$;

CREATE TRIGGER stock_audit AFTER INSERT OR UPDATE ON inventory.stock
    FOR EACH ROW EXECUTE FUNCTION audit.log_stock_change();

CREATE PROCEDURE inventory.restock(p_warehouse char(4), p_product bigint, p_qty integer)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inventory.stock AS s (warehouse_code, product_id, quantity)
    VALUES (p_warehouse, p_product, p_qty)
    ON CONFLICT (warehouse_code, product_id)
    DO UPDATE SET quantity = s.quantity + EXCLUDED.quantity, updated_at = now();
END
$$;

CREATE VIEW inventory.stock_summary AS
    SELECT p.id, p.sku, sum(s.quantity) AS total
    FROM catalog.product p JOIN inventory.stock s ON s.product_id = p.id
    GROUP BY p.id, p.sku;
