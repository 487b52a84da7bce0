"""Everything kept in Redis: keys, the connection, articles, feeds, dead letters, host slots."""
