"""Print the article record's JSON Schema: `python -m worker.schema > docs/article.schema.json`."""

import json

from worker.model import article_json_schema

if __name__ == "__main__":
    print(json.dumps(article_json_schema(), indent=2, ensure_ascii=False))
