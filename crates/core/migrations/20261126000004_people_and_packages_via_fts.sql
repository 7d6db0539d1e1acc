-- People and packages are searched through their FTS5 columns and checked exactly against
-- the stored lists. The tag table cost more than everything else in a write once the history
-- held a million messages (one random index page per name per message).
DROP TABLE message_tags;
