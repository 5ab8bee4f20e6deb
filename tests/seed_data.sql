INSERT INTO catalog.category (name, parent_id, attributes)
SELECT 'category ' || g, CASE WHEN g > 5 THEN (g % 5) + 1 END, jsonb_build_object('depth', CASE WHEN g > 5 THEN 2 ELSE 1 END)
FROM generate_series(1, 25) g;

INSERT INTO catalog.product (sku, category_id, name, description, price, attributes, thumbnail, image_path, created_at, discontinued)
SELECT 'SKU-' || lpad(g::text, 6, '0'), (g % 25) + 1, 'Product ' || g, repeat('desc ', g % 20),
       (g % 1000) / 10.0, jsonb_build_object('colour', (ARRAY['red', 'green', 'blue'])[g % 3 + 1], 'size', g % 7),
       decode(md5(g::text), 'hex'), '/images/' || (g % 50) || '/' || g || '.jpg',
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour', g % 17 = 0
FROM generate_series(1, 3000) g;

INSERT INTO inventory.warehouse VALUES ('BER1', 'Berlin', 'eu'), ('NYC1', 'New York', 'us'), ('SFO1', 'San Francisco', 'us');

SELECT setseed(0.42);
CALL inventory.restock('BER1', 1, 5);
INSERT INTO inventory.stock (warehouse_code, product_id, quantity, status, updated_at)
SELECT w.code, p.id, (p.id * 7 + length(w.code)) % 40, (ARRAY['in_stock', 'backorder', 'discontinued']::inventory.stock_status[])[p.id % 3 + 1],
       timestamptz '2025-06-01 00:00:00+00'
FROM inventory.warehouse w CROSS JOIN catalog.product p
WHERE p.id % 2 = 0
ON CONFLICT DO NOTHING;

SELECT setval('inventory.order_number_seq', 123456);
SELECT nextval('inventory.order_number_seq');
