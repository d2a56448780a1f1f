"""The student field mapping the mapping tests share: every field matched, one to a dotted ``ext``
key, one left unmatched and two to the same Clever field."""

MAPPING = {
    "student_id": "roles.student.sis_id",
    "first_name": "name.first",
    "middle_name": "name.middle",
    "last_name": "name.last",
    "email": "email",
    "birth_date": "roles.student.dob",
    "gender": "roles.student.gender",
    "grade": "roles.student.grade",
    "class_year": "roles.student.grade",
    "graduation_year": "roles.student.graduation_year",
    "weighted_gpa": "roles.student.ext.gpa.weighted",
    "unweighted_gpa": "",
    "district_username": "roles.student.credentials.district_username",
    "state_id": "roles.student.state_id",
    "student_number": "roles.student.student_number",
}
