"""Reading result files from anywhere (run folders, CSV files, bundles) and turning them into a
report: one HTML page and its Markdown twin that answer the question per GPU, each figure
labelled measured, published or datasheet."""
