"""Word lists for the district generator (common US given names, surnames, places and streets)."""

FIRST_NAMES = (
    "Aaliyah Aaron Abigail Adam Adrian Aiden Alexa Alexander Alexis Alice Allison Alyssa Amara "
    "Amelia Amir Ana Andrea Andrew Angel Angela Anna Anthony Ariana Aria Ashley Aubrey Aurora "
    "Austin Ava Avery Axel Bella Benjamin Blake Brandon Brayden Brianna Brooklyn Caleb Camila "
    "Cameron Carlos Carmen Caroline Carter Charles Charlotte Chloe Christian Christopher Claire "
    "Cole Connor Daniel David Delilah Diego Dominic Dylan Eleanor Elena Eli Elijah Elizabeth Ella "
    "Ellie Emily Emma Eric Ethan Eva Evan Evelyn Ezra Fatima Gabriel Gabriella Genesis Gianna "
    "Grace Hailey Hannah Harper Hazel Henry Hudson Hunter Ian Isaac Isabella Isaiah Jack Jackson "
    "Jacob Jade James Jasmine Jason Javier Jayden Jeremiah Jesus Joanna John Jonathan Jordan Jose "
    "Joseph Joshua Josiah Juan Julia Julian Justin Kai Kaylee Kennedy Kevin Khloe Kimberly Layla "
    "Leah Leilani Leo Levi Liam Lillian Lily Lincoln Logan Lucas Lucy Luis Luke Luna Madelyn "
    "Madison Maria Mason Mateo Matthew Maya Mia Micah Michael Miguel Mila Naomi Natalie Nathan "
    "Nevaeh Noah Nolan Nora Olivia Owen Paisley Parker Penelope Priya Quinn Riley Robert Ryan "
    "Samantha Samuel Santiago Sarah Savannah Scarlett Sebastian Sofia Sophia Stella Thomas Tyler "
    "Valentina Victoria Violet Wei William Wyatt Xavier Yusuf Zachary Zoe Zoey"
).split()

MIDDLE_NAMES = (
    "A B C D E F G H J K L M N P R S T W Ann Anne Lee Lynn Marie Rose James Michael Grace "
    "Elizabeth Alexander Joseph Mae Jean Ray"
).split()

LAST_NAMES = (
    "Adams Ahmed Alexander Allen Alvarez Anderson Bailey Baker Barnes Bell Bennett Brooks Brown "
    "Bryant Butler Campbell Carter Castillo Chavez Chen Clark Coleman Collins Cook Cooper Cox Cruz "
    "Davis Diaz Edwards Evans Fisher Flores Ford Foster Garcia Gomez Gonzales Gonzalez Gordon Graham "
    "Gray Green Griffin Gutierrez Hall Hamilton Harris Hayes Henderson Hernandez Hill Howard Hughes "
    "Jackson James Jenkins Jimenez Johnson Jones Jordan Kelly Kim Kennedy King Lee Lewis Long Lopez "
    "Marshall Martin Martinez Mcdonald Mendoza Meyer Miller Mitchell Moore Morales Morgan Morris "
    "Murphy Murray Myers Nelson Nguyen O'Brien Ortiz Owens Parker Patel Patterson Perez Perry "
    "Peterson Phillips Powell Price Ramirez Ramos Reed Reyes Reynolds Richardson Rivera Roberts "
    "Robinson Rodriguez Rogers Ross Ruiz Russell Sanchez Sanders Scott Shah Simmons Singh Smith "
    "Stewart Sullivan Taylor Thomas Thompson Torres Tran Turner Walker Wallace Ward Washington "
    "Watson White Williams Wilson Wood Wright Wu Young Zhang De\u00a0La\u00a0Cruz Van\u00a0Dyke "
    "Garc\u00eda-L\u00f3pez M\u00fcller Nu\u00f1ez"
).split(" ")
LAST_NAMES = [name.replace("\u00a0", " ") for name in LAST_NAMES]

PLACES = (
    "Ashford,Bayview,Bellmont,Birchwood,Brookside,Cedar Creek,Clearwater,Crestview,Eastlake,"
    "Elmwood,Fairview,Foxhill,Glenwood,Greenfield,Hawthorne,Highland,Hillcrest,Kingsley,Lakeside,"
    "Laurel,Lincoln,Maple,Meadowbrook,Millbrook,Northgate,Oak Ridge,Oakwood,Parkside,Pinecrest,"
    "Pleasant Valley,Redwood,Ridgeview,Riverside,Rolling Hills,Roosevelt,Sequoia,Silver Lake,"
    "Springdale,Stonebridge,Summit,Sunnyside,Valley View,Washington,Westwood,Willow Creek,Woodland"
).split(",")

STREETS = (
    "Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Church Walnut Spring North".split()
)
STREET_SUFFIXES = ("St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Way")

# (state code, cities, zip prefix, lat, lon) — a handful of US states to place districts in.
STATES = (
    ("CA", ("Fresno", "Riverside", "Modesto", "Stockton"), "93", 36.7, -119.8),
    ("TX", ("Austin", "Round Rock", "Pflugerville", "Georgetown"), "78", 30.3, -97.7),
    ("IL", ("Naperville", "Aurora", "Joliet", "Elgin"), "60", 41.8, -88.1),
    ("NY", ("Yonkers", "White Plains", "New Rochelle", "Mount Vernon"), "10", 41.0, -73.8),
    ("GA", ("Marietta", "Roswell", "Smyrna", "Kennesaw"), "30", 33.9, -84.5),
    ("OH", ("Dublin", "Westerville", "Hilliard", "Worthington"), "43", 40.1, -83.0),
    ("WA", ("Bellevue", "Redmond", "Kirkland", "Renton"), "98", 47.6, -122.2),
)

STAFF_TITLES = (
    ("Counselor", 14),
    ("School Counselor", 10),
    ("College and Career Counselor", 3),
    ("Assistant Principal", 8),
    ("Registrar", 5),
    ("Teacher", 6),
    ("Secretary", 10),
    ("Nurse", 5),
    ("Librarian", 4),
    ("Social Worker", 3),
    ("School Psychologist", 3),
    ("Paraprofessional", 10),
    ("Attendance Clerk", 4),
    ("Dean of Students", 3),
    ("Data Manager", 2),
    ("Special Education Coordinator", 3),
    ("Instructional Coach", 3),
    ("Office Manager", 2),
)

DEPARTMENTS = (
    "Student Services",
    "Administration",
    "Counseling",
    "Special Education",
    "Office",
    "",
)

DISTRICT_ADMIN_TITLES = (
    "Superintendent",
    "Assistant Superintendent",
    "Director of Technology",
    "Director of Student Services",
    "Data and Assessment Coordinator",
    "Director of Counseling",
)

SUBJECTS = (
    ("english/language arts", ("English", "Reading", "Writing", "Literature")),
    ("math", ("Math", "Algebra I", "Geometry", "Algebra II", "Pre-Calculus")),
    ("science", ("Science", "Biology", "Chemistry", "Physics", "Earth Science")),
    ("social studies", ("Social Studies", "World History", "US History", "Civics")),
    ("language", ("Spanish I", "Spanish II", "French I", "Mandarin I")),
    ("arts and music", ("Art", "Band", "Choir", "Theater")),
    ("PE and health", ("Physical Education", "Health")),
    ("technology and engineering", ("Computer Science", "Engineering Design")),
)

RACES = (
    ("Caucasian", 45),
    ("Asian", 8),
    ("Black or African American", 15),
    ("American Indian", 2),
    ("Hawaiian or Other Pacific Islander", 1),
    ("Two or More Races", 9),
    ("Unknown", 5),
    ("", 15),
)
